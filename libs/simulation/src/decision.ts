/** What a policy decided. */
export type Decision = 'allow' | 'deny';

/** How a decision is to be read once fail-closed rules are applied. */
export interface EffectiveDecision {
  /** `allow` only for a complete allow; everything else is `deny` (DESIGN.md: fail closed). */
  readonly decision: Decision;
  /** True when the evaluation itself failed (error status, malformed result, exception). */
  readonly erroring: boolean;
  /** Why a result that was not a complete allow/deny was read as it was. */
  readonly reason?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a `data.caracal.authz.result` value the way the STS must: a complete
 * allow is an allow; a complete deny is a deny; a partial or error evaluation, a
 * missing or malformed result, is a deny that counts as erroring.
 */
export function effectiveDecision(result: unknown): EffectiveDecision {
  if (!isRecord(result)) {
    return { decision: 'deny', erroring: true, reason: 'no result object (undefined entrypoint?)' };
  }
  const { decision, evaluation_status: status } = result;
  if (status === 'error') {
    return { decision: 'deny', erroring: true, reason: 'evaluation_status is error' };
  }
  if (decision !== 'allow' && decision !== 'deny') {
    return { decision: 'deny', erroring: true, reason: `decision is ${JSON.stringify(decision)}` };
  }
  if (status !== 'complete') {
    return {
      decision: 'deny',
      erroring: status !== 'partial',
      reason: `evaluation_status is ${JSON.stringify(status)}, not complete`,
    };
  }
  return { decision, erroring: false };
}

/** How a candidate's decision differs from a baseline (recorded or live) decision. */
export type ChangeKind = 'unchanged' | 'allow_to_deny' | 'deny_to_allow' | 'newly_erroring';

/**
 * Classifies one input's outcome. A candidate that errors where the baseline did
 * not is `newly_erroring` (it denies, but the cause is a broken policy, not a
 * changed rule), and takes precedence over `allow_to_deny`.
 */
export function classifyChange(
  baseline: EffectiveDecision,
  candidate: EffectiveDecision,
): ChangeKind {
  if (candidate.erroring && !baseline.erroring) return 'newly_erroring';
  if (baseline.decision === candidate.decision) return 'unchanged';
  return baseline.decision === 'allow' ? 'allow_to_deny' : 'deny_to_allow';
}
