use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let message: String = req.field("message").unwrap_or_else(|_| "Hello from Rust!".to_string());
    Ok(json!({
        "message": message,
        "execution_id": ctx.execution_id(),
        "function_id": ctx.function_id(),
    }))
}
