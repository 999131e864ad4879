export * from './environment';
export * from './function-sources';
export * from './wait';
export * from './wasm-component';
