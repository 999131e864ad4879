use ignite::prelude::*;

#[ignite::main]
async fn handler(req: Request) -> Result<impl IntoResponse> {
    Ok(req.path().to_string())
}
