use ignite::prelude::*;

#[ignite::main]
async fn handler(_req: Request, _ctx: Context) {}
