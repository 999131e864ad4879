export * from './build-exchange';
export * from './build-tokens';
