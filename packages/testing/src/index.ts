export * from './environment';
export * from './function-sources';
export * from './outage-proxy';
export * from './wait';
export * from './wasm-component';
