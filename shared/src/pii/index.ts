export * from './pii-detector.js';
export * from './pii-vault.js';
export * from './stream-scrubber.js';
export * from './pii-normaliser.js';
export * from './pii-masker.js';
