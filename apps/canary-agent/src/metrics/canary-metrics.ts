import { CanaryResult } from '@caracal-deploy/contracts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The `result` label of `caracal_canary_checks_total`. */
export type CheckResult =
  | 'match'
  | 'decision_mismatch'
  | 'revision_mismatch'
  | 'audit_missing'
  | 'audit_mismatch'
  | 'error';

/** Every {@link CheckResult}, in the order of the `CanaryResult` enum. */
export const checkResults: readonly CheckResult[] = [
  'match',
  'decision_mismatch',
  'revision_mismatch',
  'audit_missing',
  'audit_mismatch',
  'error',
];

/** The label of an aggregator classification; undefined for UNSPECIFIED (not a classification). */
export function checkResultOf(result: CanaryResult): CheckResult | undefined {
  switch (result) {
    case CanaryResult.MATCH:
      return 'match';
    case CanaryResult.DECISION_MISMATCH:
      return 'decision_mismatch';
    case CanaryResult.REVISION_MISMATCH:
      return 'revision_mismatch';
    case CanaryResult.AUDIT_MISSING:
      return 'audit_missing';
    case CanaryResult.AUDIT_MISMATCH:
      return 'audit_mismatch';
    case CanaryResult.ERROR:
      return 'error';
    default:
      return undefined;
  }
}

/** The canary agent's Prometheus series, all labelled with its region. */
export class CanaryMetrics {
  /** `caracal_canary_checks_total{region,result}`. */
  readonly checks: Counter<'region' | 'result'>;
  /** Time from sending a probe to the last byte of the Gateway's answer. */
  readonly probeSeconds: Histogram<'region'>;
  /** Probe rounds started. */
  readonly rounds: Counter<'region'>;
  /** Reports dropped because the buffer was full. */
  readonly dropped: Counter<'region'>;
  /** Reports held: waiting to be sent, or sent and not yet classified. */
  readonly buffered: Gauge<'region'>;
  /** 1 while a stream to the aggregator is open and answering, else 0. */
  readonly aggregatorConnected: Gauge<'region'>;
  /** Probes in the current set, by source (static | expected_cases). */
  readonly probes: Gauge<'region' | 'source'>;
  /** Expected cases that could not become probes (the log says why). */
  readonly unmappedCases: Gauge<'region'>;

  constructor(
    registry: Registry,
    private readonly region: string,
    /** Reports held right now (read at every scrape). */
    held: () => number = () => 0,
  ) {
    this.checks = new Counter({
      name: 'caracal_canary_checks_total',
      help: 'Canary probes by the classification the verification aggregator gave them (error also for probes that got no answer).',
      labelNames: ['region', 'result'],
      registers: [registry],
    });
    // Every series exists from the start, so rate() and absence alerts see a 0 first.
    for (const result of checkResults) this.checks.inc({ region, result }, 0);
    this.probeSeconds = new Histogram({
      name: 'caracal_canary_probe_seconds',
      help: 'Time from sending a probe to the end of the answer (token exchange included when one was needed).',
      labelNames: ['region'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.rounds = new Counter({
      name: 'caracal_canary_rounds_total',
      help: 'Probe rounds started.',
      labelNames: ['region'],
      registers: [registry],
    });
    this.rounds.inc({ region }, 0);
    this.dropped = new Counter({
      name: 'caracal_canary_reports_dropped_total',
      help: 'Probe reports dropped, oldest first, because the report buffer was full.',
      labelNames: ['region'],
      registers: [registry],
    });
    this.dropped.inc({ region }, 0);
    this.buffered = new Gauge({
      name: 'caracal_canary_reports_buffered',
      help: 'Probe reports held by the agent: not yet sent, or sent and not yet classified.',
      labelNames: ['region'],
      registers: [registry],
      collect() {
        this.set({ region }, held());
      },
    });
    this.aggregatorConnected = new Gauge({
      name: 'caracal_canary_aggregator_connected',
      help: '1 while the report stream to the verification aggregator is open, else 0.',
      labelNames: ['region'],
      registers: [registry],
    });
    this.aggregatorConnected.set({ region }, 0);
    this.probes = new Gauge({
      name: 'caracal_canary_probes',
      help: 'Probes in the current set, by source (static, expected_cases).',
      labelNames: ['region', 'source'],
      registers: [registry],
    });
    this.unmappedCases = new Gauge({
      name: 'caracal_canary_unmapped_cases',
      help: 'Expected cases that could not become probes through the Gateway routes.',
      labelNames: ['region'],
      registers: [registry],
    });
  }

  /** Counts one check result. */
  check(result: CheckResult): void {
    this.checks.inc({ region: this.region, result });
  }

  /** Records the latency of one answered probe. */
  latency(milliseconds: number): void {
    this.probeSeconds.observe({ region: this.region }, milliseconds / 1000);
  }
}
