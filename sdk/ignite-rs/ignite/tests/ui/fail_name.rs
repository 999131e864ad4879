use ignite::prelude::*;

#[ignite::main]
async fn handle(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    Ok(())
}
