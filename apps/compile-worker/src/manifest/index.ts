export * from './manifest-error';
export * from './prepare-project';
export * from './prepared-project';
