import { randomUUID } from 'node:crypto';
import { DeployError, NotFoundError, UnavailableError } from '@caracal-deploy/errors';
import type { Admin, Kafka } from 'kafkajs';

/** One record read by {@link readTopicRange}. */
export interface RangeMessage {
  readonly partition: number;
  readonly offset: string;
  /** Record timestamp, ms since the Unix epoch. */
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** What {@link readTopicRange} reads. */
export interface TopicRangeOptions {
  readonly topic: string;
  /** Start at the first record at or after this time (default: the oldest retained record). */
  readonly fromTimestampMs?: number;
  /** Skip records after this time (default: no upper bound in time). */
  readonly toTimestampMs?: number;
  /** Stop after this many records. */
  readonly maxMessages?: number;
  /**
   * Records buffered ahead of the caller before fetching pauses (default 1000); memory stays
   * bounded by this plus one fetched batch (at most `maxBytesPerPartition`, 4 MiB).
   */
  readonly bufferSize?: number;
  /**
   * A consumer that delivers no record for this long while some remain unread is
   * replaced (twice at most, then the read fails `unavailable`); default 30 s.
   */
  readonly stallTimeoutMs?: number;
  /** Stops the read; the iterator then ends after cleaning up. */
  readonly signal?: AbortSignal;
}

interface Bounds {
  readonly partition: number;
  readonly start: bigint;
  /** First offset NOT to read: the high watermark when the read began. */
  readonly end: bigint;
}

/** A read attempt made no progress for the stall timeout (internal: the read is retried). */
class StalledRead extends Error {}

/** How many times a stalled read is restarted with a fresh consumer before it fails. */
const readAttempts = 3;

/**
 * Reads a bounded slice of a topic: from a point in time up to the end of the log
 * as it was when the read began (records produced later are not waited for).
 * Consumes with a throw-away consumer group placed by a seek at every join (and
 * never committed), pauses fetching
 * while the caller is `bufferSize` records behind, and cleans up on completion,
 * error, `break`, or abort. A consumer that makes no progress for
 * `stallTimeoutMs` while records remain (seen under heavy load: a group join
 * that never gets its fetches going) is replaced by a fresh one that resumes
 * after the last record read, at most twice; then the read fails `unavailable`.
 */
export async function* readTopicRange(
  kafka: Kafka,
  options: TopicRangeOptions,
): AsyncGenerator<RangeMessage> {
  for await (const batch of readTopicRangeBatches(kafka, options)) yield* batch;
}

/**
 * {@link readTopicRange} a batch at a time: each step yields every record
 * buffered so far (in order per partition, never empty), so a consumer with a
 * per-record cost of a microsecond or two does not pay an async step per record.
 */
export async function* readTopicRangeBatches(
  kafka: Kafka,
  options: TopicRangeOptions,
): AsyncGenerator<readonly RangeMessage[]> {
  const bounds = await readBounds(kafka, options);
  const next = new Map(bounds.map((b) => [b.partition, b.start]));
  let yielded = 0;
  for (let attempt = 1; ; attempt += 1) {
    const pending = bounds
      .map((b) => ({ ...b, start: next.get(b.partition) ?? b.start }))
      .filter((b) => b.start < b.end);
    const wanted = options.maxMessages === undefined ? undefined : options.maxMessages - yielded;
    if (pending.length === 0 || wanted === 0 || options.signal?.aborted) return;
    try {
      for await (const batch of readSlice(kafka, options, pending, wanted)) {
        // Records of one partition arrive in offset order: the last one read decides.
        const last = new Map<number, string>();
        for (const message of batch) last.set(message.partition, message.offset);
        for (const [partition, offset] of last) next.set(partition, BigInt(offset) + 1n);
        yielded += batch.length;
        yield batch;
      }
      return;
    } catch (error) {
      if (!(error instanceof StalledRead)) throw error;
      if (attempt >= readAttempts) {
        throw new UnavailableError(`${error.message}, ${readAttempts} times`, { cause: error });
      }
    }
  }
}

/** One attempt of {@link readTopicRange}: one throw-away consumer over `pending`. */
async function* readSlice(
  kafka: Kafka,
  options: TopicRangeOptions,
  pending: readonly Bounds[],
  maxMessages: number | undefined,
): AsyncGenerator<RangeMessage[]> {
  const bufferSize = options.bufferSize ?? 1_000;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  let queue: RangeMessage[] = [];
  const remaining = new Map(pending.map((b) => [b.partition, b]));
  /** Per partition, the next offset to deliver. */
  const position = new Map(pending.map((b) => [b.partition, b.start]));
  let failure: unknown;
  let finished = false;
  let wakeReader: (() => void) | undefined;
  let wakeFetcher: (() => void) | undefined;
  const notifyReader = () => {
    wakeReader?.();
    wakeReader = undefined;
  };

  const groupId = `caracal-range-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
  });
  const onAbort = () => {
    finished = true;
    wakeFetcher?.();
    notifyReader();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    try {
      await consumer.connect();
      // If the broker ever refuses the sought start ("offset out of range"),
      // kafkajs resets to this default: the earliest record, which the position
      // filter below skips up to the start. Resetting to the latest instead would
      // wait forever for records that never come.
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      // Each join (the first, and any after a rebalance or a restart) puts every unfinished
      // partition exactly where this read stands; kafkajs applies a seek made here before the
      // group's first fetch. (admin.setOffsets would do the same through a consumer of its own
      // that sits out a 5 s fetch wait first.)
      consumer.on(consumer.events.GROUP_JOIN, () => {
        try {
          for (const partition of remaining.keys()) {
            const offset = (position.get(partition) ?? 0n).toString();
            consumer.seek({ topic: options.topic, partition, offset });
          }
        } catch (error) {
          failure = error;
          finished = true;
          notifyReader();
        }
      });
      consumer.on(consumer.events.CRASH, (event) => {
        failure = event.payload.error;
        finished = true;
        notifyReader();
      });
      await consumer.run({
        autoCommit: false,
        // Whole batches, not one callback per record: the decode cost dominates otherwise.
        eachBatch: async (payload) => {
          const { batch } = payload;
          const bound = remaining.get(batch.partition);
          const { messages } = batch;
          // The loop below never yields, so one look at the run state covers the batch.
          if (finished || !payload.isRunning() || payload.isStale()) return;
          if (!bound) {
            // Nothing (more) to read there: stop fetching it rather than read it to its end.
            payload.pause();
            return;
          }
          if (messages.length === 0) return;
          // Records before the read's position (a fetch that began earlier, a redelivery
          // after a rejoin) are skipped: each record is delivered once.
          const from = position.get(batch.partition) ?? bound.start;
          // Offsets are compared one by one only in a batch that straddles a bound.
          const inside =
            BigInt(messages[0]!.offset) >= from &&
            BigInt(messages[messages.length - 1]!.offset) + 1n < bound.end;
          const to = options.toTimestampMs;
          let last: string | undefined;
          for (const message of messages) {
            if (!inside) {
              const offset = BigInt(message.offset);
              if (offset < from) continue;
              if (offset >= bound.end) break;
              if (offset + 1n >= bound.end) {
                remaining.delete(batch.partition);
                if (remaining.size === 0) finished = true;
              }
            }
            const timestampMs = Number(message.timestamp);
            if (to === undefined || timestampMs <= to) {
              queue.push({
                partition: batch.partition,
                offset: message.offset,
                timestampMs,
                key: message.key,
                value: message.value,
              });
            }
            last = message.offset;
          }
          if (last !== undefined) position.set(batch.partition, BigInt(last) + 1n);
          notifyReader();
          // Backpressure: the fetch loop waits for this handler, so fetching stops here.
          while (queue.length >= bufferSize && !finished) {
            await new Promise<void>((resolve) => (wakeFetcher = resolve));
          }
        },
      });
    } catch (error) {
      // Setup failures (coordinator not found, metadata errors) are Kafka being unavailable.
      throw new UnavailableError(
        `reading ${options.topic} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }

    let yielded = 0;
    for (;;) {
      if (queue.length > 0) {
        let batch = queue;
        queue = [];
        if (maxMessages !== undefined && yielded + batch.length > maxMessages) {
          batch = batch.slice(0, maxMessages - yielded);
        }
        wakeFetcher?.();
        wakeFetcher = undefined;
        yield batch;
        yielded += batch.length;
        if (maxMessages !== undefined && yielded >= maxMessages) return;
        continue;
      }
      if (failure !== undefined)
        throw new UnavailableError(`reading ${options.topic} failed`, { cause: failure });
      if (finished) return;
      // A safety net, never the normal path: no record at all for stallTimeoutMs
      // while the log still holds unread ones means the consumer is stuck.
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), stallTimeoutMs);
        wakeReader = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!woken && !finished && queue.length === 0) {
        throw new StalledRead(
          `reading ${options.topic} made no progress for ${stallTimeoutMs} ms with ${remaining.size} partitions unread`,
        );
      }
    }
  } finally {
    finished = true;
    wakeFetcher?.();
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}

async function readBounds(kafka: Kafka, options: TopicRangeOptions): Promise<Bounds[]> {
  return withAdmin(kafka, async (admin) => {
    const topics = await admin.listTopics();
    if (!topics.includes(options.topic)) {
      throw new NotFoundError(`Kafka topic ${JSON.stringify(options.topic)} does not exist`);
    }
    const ends = await admin.fetchTopicOffsets(options.topic);
    const starts =
      options.fromTimestampMs === undefined
        ? ends.map(({ partition, low }) => ({ partition, offset: low }))
        : await admin.fetchTopicOffsetsByTimestamp(options.topic, options.fromTimestampMs);
    return ends.map(({ partition, high, low }) => {
      const start = starts.find((s) => s.partition === partition)?.offset ?? low;
      // An offset of -1 means no record at or after the timestamp: nothing to read there.
      const begin = BigInt(start) < 0n ? BigInt(high) : BigInt(start);
      return { partition, start: begin, end: BigInt(high) };
    });
  });
}

async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new UnavailableError('Kafka is unreachable', { cause: error });
  }
  try {
    return await work(admin);
  } catch (error) {
    if (error instanceof DeployError) throw error;
    // Metadata and offset lookups failing (no leader, timeouts) mean Kafka is not serving.
    throw new UnavailableError(
      `Kafka request failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await admin.disconnect();
  }
}
