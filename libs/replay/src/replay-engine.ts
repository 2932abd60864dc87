import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  CancelledError,
  InternalError,
  InvalidArgumentError,
  type FieldViolation,
} from '@caracal-deploy/errors';
import {
  ImpactAggregator,
  evaluateGate,
  type GateResult,
  type ImpactGate,
  type ImpactReport,
} from '@caracal-deploy/simulation';

import type { BatchDone, FromWorker, ReplayWorkerData, ToWorker } from './replay-protocol.js';

/** Where a replay stands, reported while it runs. */
export interface ReplayProgress {
  /** Records read from the source so far. */
  readonly read: number;
  /** Records evaluated against the candidate so far. */
  readonly evaluated: number;
  readonly invalid: number;
  readonly skipped: number;
}

/** What {@link replayDecisions} needs. */
export interface ReplayOptions {
  /** The candidate's bundle bytes (verify sha and signature before calling). */
  readonly bundle: Uint8Array;
  /** Entrypoint to evaluate (default `caracal/authz/result`). */
  readonly entrypoint?: string;
  /**
   * Raw decision-log record values (JSON), e.g. from `readTopicRange`, or an in-memory list.
   * An item may also be an array of records (e.g. from `readTopicRangeBatches`), which spares
   * an async step per record.
   */
  readonly records:
    | AsyncIterable<Uint8Array | readonly Uint8Array[]>
    | Iterable<Uint8Array | readonly Uint8Array[]>;
  /** Only records of this zone are evaluated. */
  readonly zoneId?: string;
  readonly gate: ImpactGate;
  /** Worker threads evaluating in parallel (default: one per core). */
  readonly workers?: number;
  /** Records per batch sent to a worker (default 512). */
  readonly batchSize?: number;
  /** Called at most every `progressIntervalMs` (default 250 ms) and once at the end. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly progressIntervalMs?: number;
  /** Cancels the replay: workers stop and the promise rejects with `cancelled`. */
  readonly signal?: AbortSignal;
  /** Bounds of the changed-group table (memory stays bounded whatever the volume). */
  readonly maxGroups?: number;
  readonly examplesPerGroup?: number;
  readonly topGroups?: number;
}

/** What a replay found and what the gate made of it. */
export interface ReplayResult {
  readonly report: ImpactReport;
  readonly gate: GateResult;
  readonly progress: ReplayProgress;
  /** Problems of the first record that could not be read, if any was invalid. */
  readonly firstInvalid?: readonly FieldViolation[];
}

const workerUrl = new URL('./replay.worker.js', import.meta.url);
// Batches in flight per worker: one being evaluated, one queued, so a worker
// never idles while the engine reads; more would only hold memory.
const inFlightPerWorker = 2;

interface Lane {
  readonly worker: Worker;
  inFlight: number;
}

/**
 * Replays recorded decisions against a candidate bundle on worker threads and
 * judges the impact with a gate. Memory is bounded: at most
 * `workers × 2 × batchSize` records are in flight, and aggregation keeps only
 * counts and a bounded group table.
 */
export async function replayDecisions(options: ReplayOptions): Promise<ReplayResult> {
  const workers = options.workers ?? availableParallelism();
  const batchSize = options.batchSize ?? 512;
  const violations: FieldViolation[] = [];
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    violations.push({ field: 'workers', problem: `expected 1..64, got ${workers}` });
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 65_536)
    violations.push({ field: 'batchSize', problem: `expected 1..65536, got ${batchSize}` });
  if (violations.length > 0)
    throw new InvalidArgumentError('invalid replay options', { violations });

  const workerData: ReplayWorkerData = {
    bundle: options.bundle,
    entrypoint: options.entrypoint ?? 'caracal/authz/result',
    zoneId: options.zoneId,
    maxGroups: options.maxGroups ?? 10_000,
    examplesPerGroup: options.examplesPerGroup ?? 3,
  };
  const progress = { read: 0, evaluated: 0, invalid: 0, skipped: 0 };
  let firstInvalid: readonly FieldViolation[] | undefined;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const finals: ImpactReport[] = [];

  const lanes: Lane[] = Array.from({ length: workers }, () => {
    const lane: Lane = { worker: new Worker(workerUrl, { workerData }), inFlight: 0 };
    lane.worker.on('message', (message: FromWorker) => {
      if (message.kind === 'batch-done') {
        lane.inFlight -= 1;
        account(message);
      } else if (message.kind === 'finished') {
        finals.push(message.report);
      } else {
        failure ??= new InvalidArgumentError(
          `the candidate bundle cannot be evaluated: ${message.message}`,
        );
      }
      notify();
    });
    lane.worker.on('error', (error) => {
      failure ??= new InternalError('a replay worker crashed', { cause: error });
      notify();
    });
    return lane;
  });

  function account(done: BatchDone): void {
    progress.evaluated += done.evaluated;
    progress.invalid += done.invalid;
    progress.skipped += done.skipped;
    if (done.firstInvalid) firstInvalid ??= done.firstInvalid;
  }

  const waitFor = async (ready: () => boolean): Promise<void> => {
    while (!ready()) {
      if (failure) throw failure;
      if (options.signal?.aborted) throw new CancelledError('replay cancelled');
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
  };
  const onAbort = () => notify();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let lastProgress = 0;
  const reportProgress = (force: boolean) => {
    const now = performance.now();
    if (!options.onProgress || (!force && now - lastProgress < (options.progressIntervalMs ?? 250)))
      return;
    lastProgress = now;
    options.onProgress({ ...progress });
  };

  const send = async (batch: Uint8Array[]) => {
    await waitFor(() => lanes.some((lane) => lane.inFlight < inFlightPerWorker));
    const lane = lanes.reduce((best, candidate) =>
      candidate.inFlight < best.inFlight ? candidate : best,
    );
    const offsets = new Uint32Array(batch.length + 1);
    let total = 0;
    batch.forEach((record, i) => {
      offsets[i] = total;
      total += record.byteLength;
    });
    offsets[batch.length] = total;
    const bytes = new Uint8Array(total);
    batch.forEach((record, i) => bytes.set(record, offsets[i]));
    lane.inFlight += 1;
    const message: ToWorker = { kind: 'batch', bytes, offsets };
    lane.worker.postMessage(message, [bytes.buffer, offsets.buffer]);
  };

  try {
    let batch: Uint8Array[] = [];
    for await (const item of options.records) {
      if (options.signal?.aborted) throw new CancelledError('replay cancelled');
      if (failure) throw failure;
      const records = item instanceof Uint8Array ? [item] : item;
      for (const record of records) {
        batch.push(record);
        if (batch.length >= batchSize) {
          progress.read += batch.length;
          await send(batch);
          batch = [];
          reportProgress(false);
        }
      }
    }
    progress.read += batch.length;
    if (batch.length > 0) await send(batch);
    await waitFor(() => lanes.every((lane) => lane.inFlight === 0));
    for (const lane of lanes) lane.worker.postMessage({ kind: 'finish' } satisfies ToWorker);
    await waitFor(() => finals.length === lanes.length);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(lanes.map((lane) => lane.worker.terminate()));
  }

  const merged = new ImpactAggregator({
    maxGroups: workerData.maxGroups,
    examplesPerGroup: workerData.examplesPerGroup,
    topGroups: options.topGroups ?? 10,
  });
  for (const report of finals) merged.merge(report);
  const report = merged.report();
  reportProgress(true);
  return {
    report,
    gate: evaluateGate(options.gate, report.totals),
    progress: { ...progress },
    ...(firstInvalid ? { firstInvalid } : {}),
  };
}
