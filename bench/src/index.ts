export * from './bench-options.js';
export * from './run-bench.js';
export * from './report.js';
export * from './stats.js';
export * from './svg-chart.js';
export * from './profile-summary.js';
export { ClientPool, split } from './client/client-pool.js';
export type { ChatPlan, ChatResult, OpenResult } from './client/messages.js';
