export * from './ids.js';
export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './protocol/index.js';
export * from './redis/index.js';
export * from './metrics/index.js';
