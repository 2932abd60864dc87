export { createRedis, redactUrl, redisOptions, redisReconnectDelay } from './redis.options.js';
export type { RedisClientOptions } from './redis.options.js';
export { StreamReader } from './stream-reader.js';
export type { StreamEntry, StreamReaderOptions } from './stream-reader.js';
export {
  readReplicaStatuses,
  replicaStatusKey,
  replicaStatusPrefix,
  writeReplicaStatus,
} from './replica-status.js';
export type { ReplicaStatus } from './replica-status.js';
export {
  invalidationFields,
  invalidationStream,
  parseInvalidation,
} from './policy-invalidation.js';
export type { InvalidationMessage } from './policy-invalidation.js';
