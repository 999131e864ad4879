export * from './api-views';
export * from './direct-reports';
export * from './errors';
export * from './events';
export * from './public-invoke';
export * from './queues';
export * from './runner-protocol';
export * from './toolchain';
