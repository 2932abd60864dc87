/** Kafka topic of audit events: one per decision (caracal-audit-event-2026-05-21). */
export const auditTopic = 'caracal.audit.events';
/** Kafka topic of decision logs: full input, result and revision, for replay. */
export const decisionLogTopic = 'caracal.decision.logs';

/** Everything the STS knows about one decision, from which both events are built. */
export interface DecisionFacts {
  readonly decisionId: string;
  readonly requestId: string;
  readonly zoneId: string;
  /** `token.exchange` for the token endpoint, `gateway.decide` for the Gateway's calls. */
  readonly eventType: string;
  readonly decision: 'allow' | 'deny';
  readonly evaluationStatus: string;
  /** Bundle revision (manifest sha256, hex) that decided; null without a bundle. */
  readonly revision: string | null;
  readonly policySetId?: string;
  readonly policySetVersionId?: string;
  readonly input: Readonly<Record<string, unknown>>;
  /** The raw policy result (undefined when nothing could be evaluated). */
  readonly result: unknown;
  /** `input` as JSON text, when the caller has it (spares serialising it again). */
  readonly inputJson?: string;
  /** `result` as JSON text, when the caller has it. */
  readonly resultJson?: string;
  readonly occurredAt: Date;
  /** Extra facts for the audit event (resource, trace id, denial reason…). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

function list(value: unknown, key: string): Record<string, unknown>[] {
  const items = (value as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(items)
    ? items.filter(
        (item): item is Record<string, unknown> => typeof item === 'object' && item !== null,
      )
    : [];
}

/** The audit event of a decision, with the fields of caracal-audit-event-2026-05-21. */
export function auditEvent(facts: DecisionFacts): Record<string, unknown> {
  return {
    id: facts.decisionId,
    zone_id: facts.zoneId,
    event_type: facts.eventType,
    request_id: facts.requestId,
    decision: facts.decision,
    ...(facts.policySetId ? { policy_set_id: facts.policySetId } : {}),
    ...(facts.policySetVersionId ? { policy_set_version_id: facts.policySetVersionId } : {}),
    ...(facts.revision ? { manifest_sha: `sha256:${facts.revision}` } : {}),
    evaluation_status: facts.evaluationStatus,
    determining_policies_json: list(facts.result, 'determining_policies'),
    diagnostics_json: list(facts.result, 'diagnostics'),
    metadata_json: { ...facts.metadata },
    occurred_at: facts.occurredAt.toISOString(),
  };
}

/**
 * Replaces the values at `paths` (dotted, e.g. `context.subject_claims.email`)
 * with `"[masked]"` in a copy of `input`. Masking changes what replay can see:
 * mask only fields the policy does not read, or replay will differ from live.
 */
export function maskInput(
  input: Readonly<Record<string, unknown>>,
  paths: readonly string[],
): Record<string, unknown> {
  if (paths.length === 0) return { ...input };
  const copy = structuredClone(input) as Record<string, unknown>;
  for (const path of paths) {
    const keys = path.split('.');
    let node: unknown = copy;
    for (const key of keys.slice(0, -1)) {
      node =
        typeof node === 'object' && node !== null
          ? (node as Record<string, unknown>)[key]
          : undefined;
    }
    const last = keys.at(-1)!;
    if (typeof node === 'object' && node !== null && last in node) {
      (node as Record<string, unknown>)[last] = '[masked]';
    }
  }
  return copy;
}

/** The decision-log record of a decision (the format libs/simulation parses for replay). */
export function decisionLogRecord(
  facts: DecisionFacts,
  maskedPaths: readonly string[] = [],
): Record<string, unknown> {
  return {
    decision_id: facts.decisionId,
    zone_id: facts.zoneId,
    // Decisions made without any bundle still count; replay sees them as revision "none".
    revision: facts.revision ?? 'none',
    timestamp: facts.occurredAt.toISOString(),
    input: maskInput(facts.input, maskedPaths),
    result: facts.result ?? null,
  };
}

/**
 * {@link decisionLogRecord} as JSON text. Without masking, input and result
 * texts the decision already carries are spliced in rather than serialised again.
 */
export function decisionLogJson(facts: DecisionFacts, maskedPaths: readonly string[] = []): string {
  if (maskedPaths.length > 0 || facts.inputJson === undefined) {
    return JSON.stringify(decisionLogRecord(facts, maskedPaths));
  }
  const result =
    facts.result === undefined ? 'null' : (facts.resultJson ?? JSON.stringify(facts.result));
  return (
    `{"decision_id":${JSON.stringify(facts.decisionId)},"zone_id":${JSON.stringify(facts.zoneId)},` +
    `"revision":${JSON.stringify(facts.revision ?? 'none')},` +
    `"timestamp":"${facts.occurredAt.toISOString()}",` +
    `"input":${facts.inputJson},"result":${result}}`
  );
}
