export * from './registry.js';
export * from './gateway-metrics.js';
export * from './worker-metrics.js';
