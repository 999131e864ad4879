export * from './rust-toolchain';
export * from './wasm-toolchain';
