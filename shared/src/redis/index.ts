export * from './redis-keys.js';
export * from './connection.js';
export * from './scripts.js';
export * from './session-store.js';
export * from './turn-log.js';
export * from './write-coalescer.js';
export * from './turn-custody.js';
export * from './session-eraser.js';
