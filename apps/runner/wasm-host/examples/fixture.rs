//! Builds an SDK fixture as a component (as the compile worker does) and precompiles it, both
//! cached; prints the `.cwasm` path. For benchmarks: `cargo run --release --example fixture --
//! rust-hello`.

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rust-hello".into());
    println!("{}", support::precompiled(&name).display());
}
