export * from './archive-format';
export * from './archive-limits';
export * from './archive-rejected-error';
export * from './archive-summary';
export * from './inspect-archive';
export * from './unpack-archive';
