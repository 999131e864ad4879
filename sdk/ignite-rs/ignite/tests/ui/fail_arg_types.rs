use ignite::prelude::*;

#[ignite::main]
async fn handler(req: String, ctx: Context) -> Result<impl IntoResponse> {
    Ok(format!("{req} {}", ctx.execution_id()))
}
