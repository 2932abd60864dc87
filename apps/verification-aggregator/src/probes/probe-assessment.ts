import { CanaryResult } from '@caracal-deploy/contracts';

import { normalizeRevision, type AuditFacts } from '../audit/audit-event.js';

/** One probe as the aggregator keeps it: the agent's report and the audit event joined to it. */
export interface ProbeFacts {
  readonly requestId: string;
  readonly agentId: string;
  readonly region: string;
  readonly zoneId: string;
  readonly probeId: string;
  /** The round as a decimal string (int64 on the wire). */
  readonly round: string;
  /** `allow` | `deny`. */
  readonly expectedDecision: string;
  readonly httpStatus: number;
  /** `x-caracal-decision` as the Gateway sent it (empty when absent). */
  readonly observedDecision: string;
  /** `x-caracal-policy-revision`, normalized (empty when absent). */
  readonly observedRevision: string;
  /** Empty when the Gateway answered. */
  readonly transportError: string;
  readonly sentAtMs: number;
  /** The joined audit event; undefined when none arrived within the join deadline. */
  readonly audit: AuditFacts | undefined;
}

/** What a probe is compared with: the revision (and version) the zone must serve. */
export interface ProbeTarget {
  /** Normalized bundle revision; undefined when no stage names one for the zone. */
  readonly revision: string | undefined;
  /** Policy-set version the audit event must name when it names one; undefined: not checked. */
  readonly policySetVersionId: string | undefined;
}

/** How the Gateway side of a probe went. */
export type GatewayOutcome = 'ok' | 'error' | 'decision_mismatch' | 'revision_mismatch';

/** How the audit side of a probe went (`not_judged` when the Gateway side already failed). */
export type AuditOutcome = 'ok' | 'missing' | 'mismatch' | 'not_judged';

/** A probe judged against a target, both sides apart and as one {@link CanaryResult}. */
export interface ProbeAssessment {
  readonly gateway: GatewayOutcome;
  readonly audit: AuditOutcome;
  readonly result: CanaryResult;
  /** Why, in words. */
  readonly detail: string;
}

const decisions: ReadonlySet<string> = new Set(['allow', 'deny']);

/** The Gateway side alone: decided without waiting for the audit event when it already fails. */
export function assessGateway(
  facts: Pick<
    ProbeFacts,
    'transportError' | 'observedDecision' | 'expectedDecision' | 'httpStatus' | 'observedRevision'
  >,
  target: ProbeTarget,
): { outcome: GatewayOutcome; detail: string } {
  if (facts.transportError !== '') {
    return { outcome: 'error', detail: `transport error: ${facts.transportError}` };
  }
  const observed = facts.observedDecision.trim().toLowerCase();
  if (!decisions.has(observed)) {
    return {
      outcome: 'error',
      detail: `HTTP ${facts.httpStatus} without a decision (x-caracal-decision ${JSON.stringify(facts.observedDecision)})`,
    };
  }
  if (observed !== facts.expectedDecision) {
    return {
      outcome: 'decision_mismatch',
      detail: `gateway decision ${observed}, expected ${facts.expectedDecision}`,
    };
  }
  if (target.revision !== undefined && facts.observedRevision !== target.revision) {
    return {
      outcome: 'revision_mismatch',
      detail: `gateway revision ${facts.observedRevision || '(none)'}, expected ${target.revision}`,
    };
  }
  return { outcome: 'ok', detail: `gateway decision ${observed} as expected` };
}

/**
 * The audit side: the event must exist, carry the expected decision, the
 * target revision (or, without a target, the revision the Gateway reported),
 * the target policy-set version when it names one, and a determining policy.
 */
export function assessAudit(
  facts: Pick<ProbeFacts, 'audit' | 'expectedDecision' | 'observedRevision' | 'zoneId'>,
  target: ProbeTarget,
): { outcome: AuditOutcome; detail: string } {
  const audit = facts.audit;
  if (audit === undefined) {
    return { outcome: 'missing', detail: 'no audit event with the request id within the deadline' };
  }
  const problems: string[] = [];
  if (audit.decision !== facts.expectedDecision) {
    problems.push(
      `audit decision ${audit.decision || '(none)'}, expected ${facts.expectedDecision}`,
    );
  }
  const revision = target.revision ?? normalizeRevision(facts.observedRevision);
  if (audit.revision !== revision) {
    problems.push(`audit revision ${audit.revision || '(none)'}, expected ${revision || '(none)'}`);
  }
  if (
    target.policySetVersionId !== undefined &&
    audit.policySetVersionId !== '' &&
    audit.policySetVersionId !== target.policySetVersionId
  ) {
    problems.push(
      `audit policy-set version ${audit.policySetVersionId}, expected ${target.policySetVersionId}`,
    );
  }
  if (audit.zoneId !== '' && audit.zoneId !== facts.zoneId) {
    problems.push(`audit zone ${audit.zoneId}, expected ${facts.zoneId}`);
  }
  if (audit.determiningPolicies === 0) problems.push('audit event names no determining policy');
  return problems.length > 0
    ? { outcome: 'mismatch', detail: problems.join('; ') }
    : { outcome: 'ok', detail: `audit event ${audit.eventId} agrees` };
}

/**
 * Classifies a probe: a failed Gateway side wins (error, decision mismatch,
 * revision mismatch, in that order), then the audit side (missing, mismatch),
 * else a match.
 */
export function assessProbe(facts: ProbeFacts, target: ProbeTarget): ProbeAssessment {
  const gateway = assessGateway(facts, target);
  if (gateway.outcome !== 'ok') {
    return {
      gateway: gateway.outcome,
      audit: 'not_judged',
      result: gatewayResults[gateway.outcome],
      detail: gateway.detail,
    };
  }
  const audit = assessAudit(facts, target);
  if (audit.outcome === 'missing')
    return {
      gateway: 'ok',
      audit: 'missing',
      result: CanaryResult.AUDIT_MISSING,
      detail: audit.detail,
    };
  if (audit.outcome === 'mismatch')
    return {
      gateway: 'ok',
      audit: 'mismatch',
      result: CanaryResult.AUDIT_MISMATCH,
      detail: audit.detail,
    };
  return {
    gateway: 'ok',
    audit: 'ok',
    result: CanaryResult.MATCH,
    detail: `${gateway.detail}; ${audit.detail}`,
  };
}

const gatewayResults: Record<Exclude<GatewayOutcome, 'ok'>, CanaryResult> = {
  error: CanaryResult.ERROR,
  decision_mismatch: CanaryResult.DECISION_MISMATCH,
  revision_mismatch: CanaryResult.REVISION_MISMATCH,
};

/** Stable lower-case name of a result, as stored and used in metric labels. */
export function resultName(result: CanaryResult): string {
  return CanaryResult[result].toLowerCase();
}

/** The result a stored name stands for (UNSPECIFIED for an unknown name). */
export function resultOfName(name: string): CanaryResult {
  const value = (CanaryResult as unknown as Record<string, CanaryResult | string | undefined>)[
    name.toUpperCase()
  ];
  return typeof value === 'number' ? value : CanaryResult.UNSPECIFIED;
}
