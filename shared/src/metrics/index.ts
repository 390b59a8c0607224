export * from './registry.js';
export * from './gateway-metrics.js';
export * from './worker-metrics.js';
export type { Registry } from 'prom-client';
export * from './redis-metrics.js';
