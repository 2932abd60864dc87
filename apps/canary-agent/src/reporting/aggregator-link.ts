import { setTimeout as delay } from 'node:timers/promises';

import type {
  ProbeClassification,
  ReportProbesRequestSchema,
  ReportProbesResponse,
} from '@caracal-deploy/contracts';
import type { MessageInitShape } from '@bufbuild/protobuf';

import { toProbeReport, type ProbeObservation } from '../rounds/probe-report.js';
import type { ReportBuffer } from './report-buffer.js';

/** The client half of one `VerificationService.ReportProbes` call (libs/grpc's `BidiStream`). */
export interface ReportStream {
  send(request: MessageInitShape<typeof ReportProbesRequestSchema>): Promise<void>;
  end(): void;
  readonly responses: AsyncIterable<ReportProbesResponse>;
  cancel(): void;
}

/** Where the link logs what it does. */
export interface LinkLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Options of {@link AggregatorLink}. */
export interface AggregatorLinkOptions {
  /** Opens a new `ReportProbes` call. */
  readonly open: () => ReportStream;
  readonly buffer: ReportBuffer;
  readonly agent: { readonly agentId: string; readonly region: string };
  /** Most reports sent and not yet classified; sending waits past it (the buffer absorbs the rest). */
  readonly maxInFlight: number;
  /** Most reports in one request message. */
  readonly batchSize?: number;
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  /** Receives every classification the aggregator sends. */
  readonly classified: (classification: ProbeClassification) => void;
  /** Told when the stream comes up (first answer) or goes down. */
  readonly connected?: (up: boolean) => void;
  readonly logger?: LinkLogger;
  /** Random source in [0, 1) for the backoff jitter, for tests. */
  readonly random?: () => number;
}

const quietLogger: LinkLogger = { log: () => undefined, warn: () => undefined };

/**
 * The agent's side of the `ReportProbes` stream: sends buffered reports in
 * batches, takes each classification back, and survives an absent or
 * restarting aggregator. A report stays the agent's until it is classified:
 * when a call fails, the reports sent on it without a classification go back
 * to the front of the buffer and are sent again on the next call (the
 * aggregator joins by request id, so a repeat is harmless). Reconnects back
 * off exponentially with jitter between the configured bounds.
 */
export class AggregatorLink {
  private readonly inFlight = new Map<string, ProbeObservation>();
  private readonly stopping = new AbortController();
  private readonly stopped = new Promise<void>((resolve) =>
    this.stopping.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private up = false;

  constructor(private readonly options: AggregatorLinkOptions) {}

  /** Starts connecting and sending. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Tells the link new reports are in the buffer. */
  notify(): void {
    this.wake?.();
  }

  /** Reports sent and awaiting their classification. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True while a call is open and has answered at least once. */
  get connected(): boolean {
    return this.up;
  }

  /** Half-closes the open call, gives the aggregator a moment to classify what it has, and stops. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.options.connected?.(up);
  }

  private async run(): Promise<void> {
    const logger = this.options.logger ?? quietLogger;
    const random = this.options.random ?? Math.random;
    let backoff = this.options.reconnect.minMs;
    let lastFailure: string | undefined;
    while (!this.stopping.signal.aborted) {
      const openedAt = Date.now();
      let answered = false;
      const failure = await this.serve(() => {
        answered = true;
        backoff = this.options.reconnect.minMs;
      });
      this.setUp(false);
      // Whatever was sent on the failed call and not classified is sent again.
      if (this.inFlight.size > 0) {
        this.options.buffer.requeue([...this.inFlight.values()]);
        this.inFlight.clear();
      }
      if (this.stopping.signal.aborted) return;
      if (answered || Date.now() - openedAt >= this.options.reconnect.maxMs) {
        backoff = this.options.reconnect.minMs;
      }
      // One line per kind of failure, not one per attempt, while the aggregator stays away.
      if (answered || failure !== lastFailure) {
        logger.warn(
          `report stream to the aggregator ended (${failure}); ${this.options.buffer.size} reports held, reconnecting with backoff`,
        );
      }
      lastFailure = answered ? undefined : failure;
      const pause = backoff * (0.5 + random());
      backoff = Math.min(backoff * 2, this.options.reconnect.maxMs);
      try {
        await delay(pause, undefined, { signal: this.stopping.signal });
      } catch {
        return;
      }
    }
  }

  /** Runs one call until it fails or the link stops; resolves with why it ended. */
  private async serve(answered: () => void): Promise<string> {
    let stream: ReportStream;
    try {
      stream = this.options.open();
    } catch (error) {
      return (error as Error).message;
    }
    let ended: string | undefined;
    let signalEnd: () => void = () => undefined;
    const endedPromise = new Promise<void>((resolve) => (signalEnd = resolve));
    const finish = (why: string) => {
      ended ??= why;
      signalEnd();
      this.wake?.();
    };
    const reading = (async () => {
      try {
        for await (const response of stream.responses) {
          answered();
          this.setUp(true);
          for (const classification of response.classifications) {
            this.inFlight.delete(classification.requestId);
            this.options.classified(classification);
          }
          this.wake?.();
        }
        finish('the aggregator closed the stream');
      } catch (error) {
        finish((error as Error).message);
      }
    })();
    const batchSize = this.options.batchSize ?? 100;
    try {
      while (ended === undefined && !this.stopping.signal.aborted) {
        const room = Math.min(batchSize, this.options.maxInFlight - this.inFlight.size);
        const batch = room > 0 ? this.options.buffer.take(room) : [];
        if (batch.length === 0) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            if (this.options.buffer.size > 0 && this.inFlight.size < this.options.maxInFlight)
              resolve();
          });
          this.wake = undefined;
          continue;
        }
        for (const report of batch) this.inFlight.set(report.requestId, report);
        const sent = stream
          .send({ reports: batch.map((report) => toProbeReport(report, this.options.agent)) })
          .then(
            () => undefined,
            (error: unknown) => finish((error as Error).message),
          );
        // A call whose server never answers must not hold the sender (or a stop) on one write.
        await Promise.race([sent, endedPromise, this.stopped]);
      }
    } finally {
      if (this.stopping.signal.aborted) {
        stream.end();
        // Give the aggregator a moment to classify what it has before the call is cut.
        const grace = new AbortController();
        await Promise.race([
          reading,
          delay(1_000, undefined, { signal: grace.signal }).catch(() => undefined),
        ]);
        grace.abort();
      }
      stream.cancel();
      await reading;
    }
    return ended ?? 'stopped';
  }
}
