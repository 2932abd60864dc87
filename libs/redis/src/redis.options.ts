import { UnavailableError } from '@caracal-deploy/errors';
import { Redis, type RedisOptions } from 'ioredis';

/** Options for {@link createRedis}. */
export interface RedisClientOptions {
  /** Shown in `CLIENT LIST`, to tell replicas and roles apart on the server. */
  readonly connectionName?: string;
  /** TCP connect timeout, ms; defaults to 5000. */
  readonly connectTimeoutMs?: number;
  /**
   * How many reconnects a queued command survives before it is rejected; defaults
   * to 3. `null` keeps commands queued until Redis is back (for blocking readers).
   */
  readonly maxRetriesPerRequest?: number | null;
  /** Receives connection errors after the initial connect (ioredis logs them otherwise). */
  readonly onError?: (error: Error) => void;
}

/** Reconnect backoff: 50 ms doubling to a 2 s cap, forever; a Redis restart must not kill the client. */
export function redisReconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.max(attempt - 1, 0), 2_000);
}

/** The ioredis options {@link createRedis} uses. */
export function redisOptions(options: RedisClientOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest:
      options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    retryStrategy: redisReconnectDelay,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  };
}

/**
 * Connects to Redis at `url` and resolves once the connection is ready. If the first
 * connect fails it gives up (no background retries) and rejects with an
 * {@link UnavailableError} naming the address and the reason; once connected, the
 * client reconnects on its own with {@link redisReconnectDelay}.
 */
export async function createRedis(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const redis = new Redis(url, redisOptions(options));
  // connect() rejects with a bare "Connection is closed."; the socket error that
  // explains it (ECONNREFUSED, ENOTFOUND, ...) only arrives as an 'error' event.
  let firstError: Error | undefined;
  const recordFirst = (error: Error): void => {
    firstError ??= error;
  };
  redis.on('error', recordFirst);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const cause = firstError ?? error;
    throw new UnavailableError(`Redis is not reachable at ${redactUrl(url)} (${reasonOf(cause)})`, {
      cause,
    });
  } finally {
    redis.off('error', recordFirst);
  }
  if (options.onError) redis.on('error', options.onError);
  return redis;
}

/** `url` with any password replaced by `***`, safe for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : error.message;
  }
  return String(error);
}
