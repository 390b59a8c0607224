export * from './origin-policy.js';
export * from './session-access.js';
export * from './session-tokens.js';
export * from './socket-tickets.js';
