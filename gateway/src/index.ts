export * from './chat-gateway.js';
export * from './uws-loader.js';
export * from './session-relay.js';
export * from './turn-intake.js';
export * from './auth/index.js';
export { REDIS_AWAY_MESSAGE, RedisAvailability } from './redis-availability.js';
