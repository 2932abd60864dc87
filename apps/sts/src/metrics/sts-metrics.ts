import type { ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The STS's Prometheus series (names per DESIGN.md). */
export class StsMetrics {
  /** Decisions by zone and effective outcome. */
  readonly decisions: Counter<'zone' | 'decision'>;
  /** Time to evaluate one decision on the in-process bundle. */
  readonly decisionSeconds: Histogram;
  /** Bundle loads by zone and outcome (`loaded`, `rejected`). */
  readonly bundleLoads: Counter<'zone' | 'outcome'>;
  /** Refused bundles by zone and reason (sha_mismatch, signature_invalid, …). */
  readonly bundleRejections: Counter<'zone' | 'reason'>;
  /** Bundles whose wasm could not be instantiated. */
  readonly opaCompileErrors: Counter;
  /** Decisions refused because the audit buffer was full (no token was issued). */
  readonly auditRejected: Counter;
  private auditBuffered: () => number = () => 0;

  constructor(registry: Registry, runtimes: ReadonlyMap<string, ZonePolicyRuntime>) {
    this.decisions = new Counter({
      name: 'caracal_sts_decisions_total',
      help: 'Policy decisions by zone and effective decision (fail closed: errors count as deny).',
      labelNames: ['zone', 'decision'],
      registers: [registry],
    });
    this.decisionSeconds = new Histogram({
      name: 'caracal_sts_decision_seconds',
      help: 'Time to evaluate one decision on the zone bundle, in process.',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    });
    this.bundleLoads = new Counter({
      name: 'caracal_sts_bundle_loads_total',
      help: 'Bundle load attempts by zone and outcome (loaded, rejected).',
      labelNames: ['zone', 'outcome'],
      registers: [registry],
    });
    this.bundleRejections = new Counter({
      name: 'caracal_sts_bundle_rejections_total',
      help: 'Bundles refused by zone and reason; the last good bundle kept serving.',
      labelNames: ['zone', 'reason'],
      registers: [registry],
    });
    this.opaCompileErrors = new Counter({
      name: 'caracal_sts_opa_compile_errors_total',
      help: 'Bundles whose policy.wasm failed to instantiate.',
      registers: [registry],
    });
    this.auditRejected = new Counter({
      name: 'caracal_sts_audit_rejected_total',
      help: 'Decisions refused because the audit event buffer was full (Kafka slow or down).',
      registers: [registry],
    });
    const buffered = () => this.auditBuffered();
    new Gauge({
      name: 'caracal_sts_audit_buffered',
      help: 'Decisions whose audit event and decision log wait for Kafka; at the buffer capacity decisions are refused.',
      registers: [registry],
      collect() {
        this.set(buffered());
      },
    });
    new Gauge({
      name: 'caracal_sts_policy_age_seconds',
      help: "Seconds since this replica last confirmed, and reported to Redis, that it serves the zone's active revision.",
      labelNames: ['zone'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [zone, runtime] of runtimes) {
          const age = runtime.policyAgeSeconds();
          if (age !== undefined) this.set({ zone }, age);
        }
      },
    });
    new Gauge({
      name: 'caracal_sts_policy_revision_info',
      help: 'The revision (manifest sha256) each zone serves; value 1.',
      labelNames: ['zone', 'revision'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [zone, runtime] of runtimes) {
          const revision = runtime.active?.revision;
          if (revision) this.set({ zone, revision }, 1);
        }
      },
    });
  }

  /** Reports the audit buffer's fill level from `read` (the publisher exists after the metrics). */
  observeAuditBuffer(read: () => number): void {
    this.auditBuffered = read;
  }
}
