import { InvalidArgumentError } from '@caracal-deploy/errors';
import type { Redis } from 'ioredis';

import { createRedis } from './redis.options.js';

/** One stream entry: its id and fields (a repeated field keeps its last value). */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** Where and how a {@link StreamReader} follows a stream. */
export interface StreamReaderOptions {
  /** Redis URL; the reader opens its own connection, since XREAD BLOCK occupies it. */
  readonly url: string;
  /** Stream key, e.g. `caracal.policy.invalidate`. */
  readonly stream: string;
  /**
   * Deliver entries after this id: `$` (default) = only entries added after
   * {@link StreamReader.open} resolves, `0` = the whole stream, or an entry id to resume from.
   */
  readonly from?: string;
  /** How long one XREAD blocks before it is re-issued, ms; stop() interrupts it regardless. Defaults to 5000. */
  readonly blockMs?: number;
  /** Max entries fetched per XREAD; defaults to 100. */
  readonly count?: number;
  /** Client name shown in `CLIENT LIST`. */
  readonly connectionName?: string;
  /** Receives connection errors while the reader waits for Redis to come back. */
  readonly onError?: (error: Error) => void;
}

const entryId = /^\d+(-\d+)?$/;

/**
 * Follows one Redis stream with plain `XREAD BLOCK` (no consumer group), so every
 * reader sees every entry: what each STS replica needs for `caracal.policy.invalidate`.
 * Iterate it with `for await`; {@link StreamReader.stop} (or leaving the loop) ends
 * the iteration and closes the dedicated connection.
 */
export class StreamReader implements AsyncIterable<StreamEntry> {
  private stopped = false;
  private iterating = false;

  private constructor(
    private readonly connection: Redis,
    private readonly options: Required<Pick<StreamReaderOptions, 'stream' | 'blockMs' | 'count'>>,
    private lastId: string,
  ) {}

  /**
   * Connects and pins the start position; entries added after this resolves are
   * delivered, even those added before iteration begins.
   */
  static async open(options: StreamReaderOptions): Promise<StreamReader> {
    const from = options.from ?? '$';
    if (from !== '$' && !entryId.test(from)) {
      throw new InvalidArgumentError('invalid stream reader options', {
        violations: [
          {
            field: 'from',
            problem: `expected "$", "0" or a stream entry id, got ${JSON.stringify(from)}`,
          },
        ],
      });
    }
    const connection = await createRedis(options.url, {
      connectionName: options.connectionName ?? 'caracal-stream-reader',
      // A blocked read waits out a Redis restart instead of failing; reconnecting
      // re-sends it with the same last id, so nothing is skipped.
      maxRetriesPerRequest: null,
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
    try {
      // `$` must become a concrete id now: re-sending `$` on every XREAD would skip
      // entries added between two reads.
      const start = from === '$' ? await lastEntryId(connection, options.stream) : from;
      return new StreamReader(
        connection,
        { stream: options.stream, blockMs: options.blockMs ?? 5_000, count: options.count ?? 100 },
        start,
      );
    } catch (error) {
      connection.disconnect();
      throw error;
    }
  }

  /** Id of the last entry delivered (or the start position); resume a new reader from here. */
  get position(): string {
    return this.lastId;
  }

  /** Yields entries in stream order until stopped; a single reader can be iterated once. */
  [Symbol.asyncIterator](): AsyncIterator<StreamEntry> {
    if (this.iterating) throw new Error('a StreamReader can be iterated only once');
    this.iterating = true;
    return this.entries();
  }

  /** Ends the iteration (interrupting a blocked read) and closes the connection; idempotent. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      // disconnect(), not quit(): QUIT would queue behind the blocked XREAD.
      this.connection.disconnect();
    }
    return Promise.resolve();
  }

  private async *entries(): AsyncGenerator<StreamEntry, void, undefined> {
    const { stream, blockMs, count } = this.options;
    try {
      while (!this.stopped) {
        let reply: [string, [string, string[]][]][] | null;
        try {
          reply = await this.connection.xread(
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            stream,
            this.lastId,
          );
        } catch (error) {
          if (this.stopped) return;
          throw error;
        }
        for (const [, entries] of reply ?? []) {
          for (const [id, flat] of entries) {
            if (this.stopped) return;
            this.lastId = id;
            yield { id, fields: toFields(flat) };
          }
        }
      }
    } finally {
      await this.stop();
    }
  }
}

async function lastEntryId(redis: Redis, stream: string): Promise<string> {
  const [last] = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0-0';
}

function toFields(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}
