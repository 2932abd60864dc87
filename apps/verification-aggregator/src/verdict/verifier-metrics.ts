import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@caracal-deploy/metrics';
import { Counter, Gauge, type Registry } from 'prom-client';

import { ProbeJoin } from '../probes/probe-join.js';
import type { JudgedState } from './verdict-rows.js';

const verdictValues: Record<JudgedState, number> = { pass: 1, pending: 0, fail: -1 };

/**
 * The aggregator's metrics: `caracal_verification_verdict{zone,stage}`
 * (1 = pass, 0 = pending, -1 = fail; deploy/prometheus alerts on < 0), probes
 * classified, audit events read, and the join buffers.
 */
@Injectable()
export class VerifierMetrics {
  private readonly verdicts: Gauge<'zone' | 'stage'>;
  private readonly probes: Counter<'region' | 'result'>;
  private readonly auditEvents: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, join: ProbeJoin) {
    this.verdicts = new Gauge({
      name: 'caracal_verification_verdict',
      help: 'Verdict of the latest verified stage per zone: 1 = pass, 0 = pending, -1 = fail.',
      labelNames: ['zone', 'stage'],
      registers: [registry],
    });
    this.probes = new Counter({
      name: 'caracal_verification_probes_total',
      help: 'Canary probe reports classified, by region and result.',
      labelNames: ['region', 'result'],
      registers: [registry],
    });
    this.auditEvents = new Counter({
      name: 'caracal_verification_audit_events_total',
      help: 'Records read from the audit topic.',
      registers: [registry],
    });
    new Gauge({
      name: 'caracal_verification_join_buffered',
      help: 'Join buffers: unclaimed audit events and reports waiting for their audit event.',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.set({ kind: 'audit_events' }, join.bufferedEvents);
        this.set({ kind: 'waiting_reports' }, join.waitingReports);
      },
    });
  }

  /** Sets the verdict of `stage` in each of its zones. */
  verdict(zoneIds: readonly string[], stage: string, state: JudgedState): void {
    for (const zone of zoneIds) this.verdicts.set({ zone, stage }, verdictValues[state]);
  }

  /** Counts one classified probe. */
  probe(region: string, result: string): void {
    this.probes.inc({ region, result });
  }

  /** Counts one record read from the audit topic. */
  auditEventRead(): void {
    this.auditEvents.inc();
  }
}
