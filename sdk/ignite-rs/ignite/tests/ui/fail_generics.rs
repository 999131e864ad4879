use ignite::prelude::*;

#[ignite::main]
async fn handler<T: Default>(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
    Ok(())
}
