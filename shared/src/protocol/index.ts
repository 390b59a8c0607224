export * from './schemas.js';
export * from './validators.js';
export * from './envelope.js';
export * from './frames.js';
