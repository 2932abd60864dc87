import { retryDelayMs } from '@caracal-deploy/activation';
import { invalidationStream } from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { Client } from 'pg';

import type { OutboxDatabase } from './outbox.migration.js';

/** The dead-letter stream of a stream: entries that could not be published within the attempt bound. */
export function deadLetterStream(stream: string = invalidationStream): string {
  return `${stream}.dead`;
}

/** Hooks for metrics and logs. */
export interface OutboxEvents {
  onPublished?(id: string, zoneId: string, streamId: string, queuedMs: number): void;
  onRetry?(id: string, attempt: number, error: unknown): void;
  onDeadLettered?(id: string, zoneId: string, attempts: number, error: unknown): void;
  onError?(error: unknown): void;
}

/** Options of {@link OutboxDispatcher}. */
export interface OutboxDispatcherOptions {
  readonly db: Kysely<OutboxDatabase>;
  /** Used for LISTEN (a dedicated connection), so inserts wake the dispatcher at once. */
  readonly postgresUrl: string;
  readonly redis: Redis;
  /** Stream to publish to (default `caracal.policy.invalidate`); dead letters go to `<stream>.dead`. */
  readonly stream?: string;
  /** Attempts before a row is dead-lettered (default 8). */
  readonly maxAttempts?: number;
  /** Safety-net poll interval when no notification arrives (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Rows per pass (default 100). */
  readonly batchSize?: number;
  /** Retry backoff base and cap (defaults 100 ms and 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly events?: OutboxEvents;
}

/**
 * Publishes outbox rows to the invalidation stream: woken by the insert trigger's
 * NOTIFY (and a slow poll as a safety net), it claims due rows with
 * `FOR UPDATE SKIP LOCKED` (several dispatchers never publish a row twice at the
 * same time), XADDs each, and records the stream id; a failure is retried with
 * capped, jittered backoff, and after `maxAttempts` the row is dead-lettered to
 * `caracal.policy.invalidate.dead` and marked, never silently dropped.
 */
export class OutboxDispatcher {
  private listener: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: OutboxDispatcherOptions) {}

  /** Starts listening and dispatches whatever is already due. */
  async start(): Promise<void> {
    const listener = new Client({ connectionString: this.options.postgresUrl });
    listener.on('error', (error) => this.options.events?.onError?.(error));
    await listener.connect();
    listener.on('notification', () => this.kick());
    await listener.query('LISTEN invalidation_outbox');
    this.listener = listener;
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1_000);
    this.kick();
  }

  /** Stops and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.listener?.end();
  }

  /** Runs a pass now, or once more after the pass in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          // A full batch means more may be due: go again at once.
          while ((await this.dispatchOnce()) === (this.options.batchSize ?? 100) && !this.stopped);
        } catch (error) {
          this.options.events?.onError?.(error);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  /** One pass over due rows; returns how many rows it handled. */
  async dispatchOnce(): Promise<number> {
    const { db, redis } = this.options;
    const stream = this.options.stream ?? invalidationStream;
    const maxAttempts = this.options.maxAttempts ?? 8;
    return db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('invalidation_outbox')
        .selectAll()
        .where('published_at', 'is', null)
        .where('dead_at', 'is', null)
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('id')
        .limit(this.options.batchSize ?? 100)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) {
        const id = String(row.id);
        try {
          const streamId = await redis.xadd(stream, '*', ...Object.entries(row.fields).flat());
          await tx
            .updateTable('invalidation_outbox')
            .set({
              published_at: sql`now()`,
              stream_id: streamId,
              attempts: row.attempts + 1,
              last_error: null,
            })
            .where('id', '=', row.id)
            .execute();
          this.options.events?.onPublished?.(
            id,
            row.zone_id,
            streamId ?? '',
            Date.now() - row.created_at.getTime(),
          );
        } catch (error) {
          const attempts = row.attempts + 1;
          const message = error instanceof Error ? error.message : String(error);
          if (attempts >= maxAttempts) {
            await redis
              .xadd(
                deadLetterStream(stream),
                '*',
                ...Object.entries(row.fields).flat(),
                'outbox_id',
                id,
                'error',
                message,
              )
              .catch(() => undefined);
            await tx
              .updateTable('invalidation_outbox')
              .set({ attempts, dead_at: sql`now()`, last_error: message })
              .where('id', '=', row.id)
              .execute();
            this.options.events?.onDeadLettered?.(id, row.zone_id, attempts, error);
          } else {
            const delay = retryDelayMs(
              attempts,
              this.options.retryBaseMs ?? 100,
              this.options.retryMaxMs ?? 10_000,
            );
            await tx
              .updateTable('invalidation_outbox')
              .set({
                attempts,
                last_error: message,
                next_attempt_at: sql`now() + ${`${delay} milliseconds`}::interval`,
              })
              .where('id', '=', row.id)
              .execute();
            this.options.events?.onRetry?.(id, attempts, error);
            // The slow poll is only a safety net: come back when the retry is due.
            setTimeout(() => this.kick(), delay + 5).unref();
          }
        }
      }
      return rows.length;
    });
  }
}
