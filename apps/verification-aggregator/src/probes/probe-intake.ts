import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  CanaryResult,
  Decision,
  type ProbeClassificationSchema,
  type ProbeReport,
} from '@caracal-deploy/contracts';
import {
  ResourceExhaustedError,
  UnavailableError,
  type FieldViolation,
} from '@caracal-deploy/errors';

import { normalizeRevision, type AuditFacts } from '../audit/audit-event.js';
import { AuditFollower } from '../audit/audit-follower.js';
import { CoordinatorClient } from '../coordinator/coordinator.client.js';
import { VerificationRepository, type ProbeRecord } from '../database/verification.repository.js';
import { StageJudge } from '../verdict/stage-judge.js';
import { VerifierMetrics } from '../verdict/verifier-metrics.js';
import {
  assessGateway,
  assessProbe,
  resultName,
  resultOfName,
  type ProbeFacts,
  type ProbeTarget,
} from './probe-assessment.js';
import { ProbeJoin } from './probe-join.js';

/** A classification as answered on the ReportProbes stream. */
export type Classification = MessageInitShape<typeof ProbeClassificationSchema>;

/** How long the target revision of a zone is reused before it is looked up again. */
const targetCacheMs = 500;

const expectedDecisions: Partial<Record<Decision, string>> = {
  [Decision.ALLOW]: 'allow',
  [Decision.DENY]: 'deny',
};

/** What is wrong with one report, each problem naming its field under `prefix`. */
export function reportViolations(report: ProbeReport, prefix: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const required = [
    ['agent_id', report.agentId],
    ['region', report.region],
    ['probe_id', report.probeId],
    ['request_id', report.requestId],
    ['zone_id', report.zoneId],
  ] as const;
  for (const [field, value] of required) {
    if (value.trim() === '') violations.push({ field: `${prefix}.${field}`, problem: 'required' });
  }
  if (expectedDecisions[report.expectedDecision] === undefined) {
    violations.push({
      field: `${prefix}.expected_decision`,
      problem: `expected DECISION_ALLOW or DECISION_DENY, got ${report.expectedDecision}`,
    });
  }
  if (report.sentAtUnixMillis <= 0n) {
    violations.push({ field: `${prefix}.sent_at_unix_millis`, problem: 'required (Unix ms)' });
  }
  return violations;
}

/**
 * Classifies probe reports: judges the Gateway side at once, waits for the
 * audit event (unless the probe already failed in a way no event can change),
 * stores the result as stage evidence and wakes the stage judge. A report
 * whose event did not come while the audit topic was not followed is refused
 * (UNAVAILABLE), never called audit_missing.
 */
@Injectable()
export class ProbeIntake implements OnApplicationShutdown {
  private readonly targets = new Map<string, { target: ProbeTarget; at: number }>();

  constructor(
    private readonly join: ProbeJoin,
    private readonly follower: AuditFollower,
    private readonly coordinator: CoordinatorClient,
    private readonly repository: VerificationRepository,
    private readonly judge: StageJudge,
    private readonly metrics: VerifierMetrics,
  ) {}

  onApplicationShutdown(): void {
    this.join.close();
  }

  /**
   * Classifies a valid report (see {@link reportViolations}). A report whose
   * request id was classified before gets the stored answer. Throws when the
   * result cannot be stored (the agent re-sends the report later).
   */
  async classify(report: ProbeReport): Promise<Classification> {
    const stored = await this.repository.probe(report.requestId);
    if (stored) return classificationOf(stored);
    const facts: ProbeFacts = {
      requestId: report.requestId,
      agentId: report.agentId,
      region: report.region,
      zoneId: report.zoneId,
      probeId: report.probeId,
      round: report.round.toString(),
      expectedDecision: expectedDecisions[report.expectedDecision] ?? '',
      httpStatus: report.httpStatus,
      observedDecision: report.observedDecision.trim().toLowerCase(),
      observedRevision: normalizeRevision(report.observedRevision),
      transportError: report.transportError,
      sentAtMs: Number(report.sentAtUnixMillis),
      audit: undefined,
    };
    const target = await this.targetOf(report.zoneId);
    const gateway = assessGateway(facts, target);
    let audit: AuditFacts | undefined;
    // A transport error or a wrong decision fails whatever the audit says; any
    // other probe waits for its event (a revision mismatch too: which revision
    // is the target may differ once its stage is judged).
    if (gateway.outcome !== 'error' && gateway.outcome !== 'decision_mismatch') {
      try {
        audit = await this.join.join(report.requestId);
      } catch (error) {
        if (!(error instanceof ResourceExhaustedError)) throw error;
        // Overload is not evidence about the policy: answered, counted, not stored.
        this.metrics.probe(report.region, resultName(CanaryResult.ERROR));
        return {
          requestId: report.requestId,
          probeId: report.probeId,
          region: report.region,
          result: CanaryResult.ERROR,
          detail: `not joined: ${error.message}`,
        };
      }
    }
    if (gateway.outcome !== 'error' && gateway.outcome !== 'decision_mismatch' && !audit) {
      if (!this.follower.following) {
        // Not seeing the topic is not the STS failing to audit: nothing is
        // stored, the stream fails, and the agent reports again later (the
        // follower re-reads the lookback window when it is back).
        throw new UnavailableError(
          'the audit topic is not being followed; cannot tell whether the audit event exists',
          { details: { request_id: report.requestId } },
        );
      }
    }
    const assessment = assessProbe({ ...facts, audit }, target);
    const record = await this.repository.insertProbe({
      ...facts,
      audit,
      decisionId: report.decisionId,
      latencyMs: report.latencyMs,
      result: resultName(assessment.result),
      detail: assessment.detail,
    });
    this.metrics.probe(record.region, record.result);
    this.judge.poke();
    return classificationOf(record);
  }

  /** Forgets the cached targets of `zoneIds` (a stage covering them just started). */
  forgetTargets(zoneIds: readonly string[]): void {
    for (const zoneId of zoneIds) this.targets.delete(zoneId);
  }

  /**
   * The revision a probe of the zone must show: what the coordinator says the
   * zone serves now (so probes after a rollback are judged against the
   * version rolled back to), else the revision of the zone's latest stage,
   * else none (the audit revision must then equal the Gateway's). Stage
   * verdicts do not depend on it: they judge each probe against their own revision.
   */
  private async targetOf(zoneId: string): Promise<ProbeTarget> {
    const cached = this.targets.get(zoneId);
    if (cached && Date.now() - cached.at < targetCacheMs) return cached.target;
    const binding = await this.coordinator.activeBinding(zoneId).catch(() => undefined);
    let target: ProbeTarget;
    if (binding) {
      target = {
        revision: binding.revision,
        policySetVersionId: binding.policySetVersionId || undefined,
      };
    } else {
      const stage = await this.repository.latestStageOfZone(zoneId);
      target = {
        revision: stage?.revision,
        policySetVersionId: stage?.policySetVersionId || undefined,
      };
    }
    if (this.targets.size > 10_000) this.targets.clear();
    this.targets.set(zoneId, { target, at: Date.now() });
    return target;
  }
}

function classificationOf(record: ProbeRecord): Classification {
  return {
    requestId: record.requestId,
    probeId: record.probeId,
    region: record.region,
    result: resultOfName(record.result),
    detail: record.detail,
  };
}
