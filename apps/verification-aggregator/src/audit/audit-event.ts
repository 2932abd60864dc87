/** What the join needs from one audit event (caracal-audit-event-2026-05-21). */
export interface AuditFacts {
  /** The event's `id` (the decision id). */
  readonly eventId: string;
  readonly requestId: string;
  readonly zoneId: string;
  readonly decision: string;
  /** `manifest_sha` without its `sha256:` prefix, lower case; empty when the event has none. */
  readonly revision: string;
  /** Empty when the event has none. */
  readonly policySetVersionId: string;
  /** How many entries `determining_policies_json` has. */
  readonly determiningPolicies: number;
}

/** Lower-case hex of a revision, without a `sha256:` prefix. */
export function normalizeRevision(revision: string): string {
  const trimmed = revision.trim().toLowerCase();
  return trimmed.startsWith('sha256:') ? trimmed.slice('sha256:'.length) : trimmed;
}

function text(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  return typeof value === 'string' ? value : '';
}

/**
 * Reads the join facts out of an audit event's JSON. Returns undefined for a
 * record that is not an audit event a probe can be joined to (not JSON, not an
 * object, or no `request_id`): the topic is shared and such records are skipped.
 */
export function parseAuditEvent(value: Buffer | string | null): AuditFacts | undefined {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const requestId = text(record, 'request_id');
  if (requestId === '') return undefined;
  const determining = record['determining_policies_json'];
  return {
    eventId: text(record, 'id'),
    requestId,
    zoneId: text(record, 'zone_id'),
    decision: text(record, 'decision'),
    revision: normalizeRevision(text(record, 'manifest_sha')),
    policySetVersionId: text(record, 'policy_set_version_id'),
    determiningPolicies: Array.isArray(determining)
      ? determining.filter((entry) => typeof entry === 'object' && entry !== null).length
      : 0,
  };
}
