use ignite::prelude::*;

#[ignite::main]
async fn handler() -> Result<impl IntoResponse> {
    Ok(())
}
