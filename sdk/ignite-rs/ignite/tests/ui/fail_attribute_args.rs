use ignite::prelude::*;

#[ignite::main(port = 9000)]
async fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    Ok(())
}
