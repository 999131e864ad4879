use ignite::prelude::*;

#[ignite::main]
async fn handler(_req: Request, _ctx: Context, _extra: u32) -> Result<impl IntoResponse> {
    Ok(())
}
