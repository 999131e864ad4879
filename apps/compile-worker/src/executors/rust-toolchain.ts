export { type RustToolchain, resolveRustToolchain, TARGET_TRIPLES } from '@ignite/rust-toolchains';
