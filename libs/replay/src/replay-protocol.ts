import type { ImpactReport } from '@caracal-deploy/simulation';
import type { FieldViolation } from '@caracal-deploy/errors';

/** What a replay worker is started with. */
export interface ReplayWorkerData {
  /** The candidate bundle (tar.gz); each worker instantiates its own policy from it. */
  readonly bundle: Uint8Array;
  readonly entrypoint: string;
  /** Only records of this zone are evaluated; others are counted as skipped. */
  readonly zoneId: string | undefined;
  readonly maxGroups: number;
  readonly examplesPerGroup: number;
}

/**
 * A batch of raw decision-log record values, packed into one transferable
 * buffer: record i is `bytes[offsets[i] .. offsets[i + 1])`.
 */
export interface BatchMessage {
  readonly kind: 'batch';
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

/** Asks a worker for its aggregate and ends it. */
export interface FinishMessage {
  readonly kind: 'finish';
}

/** Messages the engine sends to a worker. */
export type ToWorker = BatchMessage | FinishMessage;

/** A worker's answer to one batch. */
export interface BatchDone {
  readonly kind: 'batch-done';
  readonly evaluated: number;
  readonly invalid: number;
  readonly skipped: number;
  /** The first invalid record's problems, so the report can show an example. */
  readonly firstInvalid?: readonly FieldViolation[];
}

/** A worker's final aggregate. */
export interface Finished {
  readonly kind: 'finished';
  readonly report: ImpactReport;
}

/** A worker that could not start (e.g. the bundle does not load). */
export interface WorkerFailed {
  readonly kind: 'failed';
  readonly message: string;
}

/** Messages a worker sends back. */
export type FromWorker = BatchDone | Finished | WorkerFailed;
