use ignite::prelude::*;

struct Function;

impl Function {
    #[ignite::main]
    async fn handler(&self, _req: Request) -> Result<impl IntoResponse> {
        Ok(())
    }
}

fn main() {}
