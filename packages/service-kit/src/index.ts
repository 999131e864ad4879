export * from './config';
export * as env from './env-schemas';
export * from './logger';
export * from './redis';
