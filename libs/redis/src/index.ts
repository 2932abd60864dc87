export { createRedis, redactUrl, redisOptions, redisReconnectDelay } from './redis.options.js';
export type { RedisClientOptions } from './redis.options.js';
export { StreamReader } from './stream-reader.js';
export type { StreamEntry, StreamReaderOptions } from './stream-reader.js';
