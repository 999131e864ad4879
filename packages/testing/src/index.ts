export * from './environment';
export * from './wait';
