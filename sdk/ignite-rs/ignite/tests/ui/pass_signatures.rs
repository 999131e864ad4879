// Every accepted form of the handler compiles. (Each handler is in a module of its own so
// that this file can have a `main` that returns instead of serving.)

mod async_handler {
    use ignite::prelude::*;

    #[ignite::main]
    async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
        let message: String = req.field("message").unwrap_or_else(|_| "hi".to_string());
        Ok(json!({ "message": message, "execution_id": ctx.execution_id() }))
    }
}

mod sync_handler {
    use ignite::prelude::*;

    #[main]
    fn handler(_req: Request, _ctx: Context) -> Result<Json<Vec<u8>>> {
        Ok(Json(vec![1, 2, 3]))
    }
}

mod std_result_with_custom_error {
    #[derive(Debug)]
    pub struct Oops;

    impl std::fmt::Display for Oops {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("oops")
        }
    }

    impl std::error::Error for Oops {}

    #[ignite::main]
    pub async fn handler(
        mut req: ignite::Request,
        ctx: ignite::Context,
    ) -> std::result::Result<String, Oops> {
        let _ = &mut req;
        if ctx.function_id().is_empty() {
            return Err(Oops);
        }
        Ok(ctx.function_id().to_string())
    }
}

mod unit_and_response {
    use ignite::prelude::*;

    #[ignite::main]
    async fn handler(req: Request, _: Context) -> ignite::Result<Response> {
        let status: u16 = req.field("status")?;
        Response::builder().status(status).json(&())
    }
}

fn main() {
    let entry_points: [fn() -> !; 4] = [
        async_handler::__ignite_main,
        sync_handler::__ignite_main,
        std_result_with_custom_error::__ignite_main,
        unit_and_response::__ignite_main,
    ];
    assert_eq!(entry_points.len(), 4);
}
