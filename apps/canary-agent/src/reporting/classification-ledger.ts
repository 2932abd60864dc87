import type { CanaryResult } from '@caracal-deploy/contracts';

import { checkResultOf, type CheckResult } from '../metrics/canary-metrics.js';
import type { ProbeObservation } from '../rounds/probe-report.js';

/** What the ledger made of one classification: counted, not awaited (a duplicate, or a probe already counted or forgotten), or no result at all. */
export type LedgerOutcome = 'counted' | 'unknown' | 'unspecified';

/**
 * Bookkeeping between probes and their classifications, so every probe counts
 * once in `caracal_canary_checks_total`: a probe that got no answer counts as
 * `error` when it is recorded (the aggregator's later classification of it is
 * not counted again); any other probe counts when the aggregator classifies it,
 * once, even when a report re-sent after a reconnect is classified twice.
 * Awaited probes are bounded: past `limit` the oldest is forgotten.
 */
export class ClassificationLedger {
  private readonly awaiting = new Map<string, string>();

  constructor(
    private readonly limit: number,
    private readonly count: (result: CheckResult) => void,
  ) {}

  /** Registers a probe's observation as it is buffered for the aggregator. */
  recorded(observation: ProbeObservation): void {
    if (observation.transportError !== '') {
      this.count('error');
      return;
    }
    this.awaiting.set(observation.requestId, observation.probeId);
    if (this.awaiting.size > this.limit) {
      this.awaiting.delete(this.awaiting.keys().next().value!);
    }
  }

  /** Forgets a report that will never reach the aggregator (dropped from the buffer). */
  forget(observation: ProbeObservation): void {
    this.awaiting.delete(observation.requestId);
  }

  /** Counts a classification the first time it arrives for a probe awaiting one. */
  classified(requestId: string, result: CanaryResult): LedgerOutcome {
    const label = checkResultOf(result);
    if (label === undefined) return 'unspecified';
    if (!this.awaiting.has(requestId)) return 'unknown';
    this.awaiting.delete(requestId);
    this.count(label);
    return 'counted';
  }

  /** Probes awaiting their classification. */
  get awaitingCount(): number {
    return this.awaiting.size;
  }
}
