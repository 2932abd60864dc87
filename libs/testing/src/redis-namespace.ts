import { Redis } from 'ioredis';

import { infraSettings } from './infra-settings.js';
import { infraUnavailable } from './reachability.js';
import { uniqueName } from './unique-name.js';

/** A unique key prefix for one test; `cleanup()` deletes every key under it. */
export interface RedisNamespace {
  /** The prefix, ending in `:`. */
  readonly prefix: string;
  /** `prefix + name`. */
  readonly key: (name: string) => string;
  /** Deletes every key under the prefix and returns how many were deleted. */
  readonly cleanup: () => Promise<number>;
}

/**
 * Reserves a key prefix on the Redis at `redisUrl` (checking it is reachable) so
 * tests sharing one Redis never see each other's keys.
 */
export async function createRedisNamespace(
  redisUrl: string = infraSettings().redisUrl,
): Promise<RedisNamespace> {
  const prefix = `${uniqueName('caracal_test')}:`;
  // Connect only to prove reachability; holding a connection open would keep the
  // test process alive if a test forgot cleanup().
  await withRedis(redisUrl, (redis) => redis.ping());
  return {
    prefix,
    key: (name) => `${prefix}${name}`,
    cleanup: () =>
      withRedis(redisUrl, async (redis) => {
        let deleted = 0;
        // SCAN instead of KEYS: it never blocks a shared server.
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) deleted += await redis.unlink(...keys);
        } while (cursor !== '0');
        return deleted;
      }),
  };
}

async function withRedis<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the reason comes as an event.
  let socketError: unknown;
  redis.on('error', (error) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw infraUnavailable('redis', url, socketError ?? error);
  }
  try {
    return await work(redis);
  } finally {
    await redis.quit();
  }
}
