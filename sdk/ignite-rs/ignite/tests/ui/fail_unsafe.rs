use ignite::prelude::*;

#[ignite::main]
unsafe fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    Ok(())
}
