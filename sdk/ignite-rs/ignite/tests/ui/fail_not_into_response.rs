use ignite::prelude::*;

struct Plain;

#[ignite::main]
async fn handler(_req: Request, _ctx: Context) -> Result<Plain> {
    Ok(Plain)
}
