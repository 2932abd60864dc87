// The Redis stream contract between the activation coordinator (publisher) and
// every STS replica (reader); both planes use this one definition.
import type { FieldViolation } from '@caracal-deploy/errors';

/** The Redis stream every STS replica follows for policy changes. */
export const invalidationStream = 'caracal.policy.invalidate';

/** One `caracal.policy.invalidate` entry (DESIGN.md names its fields). */
export interface InvalidationMessage {
  readonly zoneId: string;
  readonly policySetId: string;
  readonly policySetVersionId: string;
  readonly manifestSha256: string;
  readonly activationId: string;
}

/** Reads stream entry fields into a message, or names every missing field. */
export function parseInvalidation(
  fields: Readonly<Record<string, string>>,
): { ok: true; message: InvalidationMessage } | { ok: false; violations: FieldViolation[] } {
  const names = {
    zoneId: 'zone_id',
    policySetId: 'policy_set_id',
    policySetVersionId: 'policy_set_version_id',
    manifestSha256: 'manifest_sha256',
    activationId: 'activation_id',
  } as const;
  const violations: FieldViolation[] = [];
  const message: Record<string, string> = {};
  for (const [key, field] of Object.entries(names)) {
    const value = fields[field];
    if (!value) violations.push({ field, problem: 'required, got nothing' });
    else message[key] = value;
  }
  if (violations.length > 0) return { ok: false, violations };
  return { ok: true, message: message as unknown as InvalidationMessage };
}

/** Stream fields of a message, for publishers (the coordinator's outbox dispatcher). */
export function invalidationFields(message: InvalidationMessage): Record<string, string> {
  return {
    zone_id: message.zoneId,
    policy_set_id: message.policySetId,
    policy_set_version_id: message.policySetVersionId,
    manifest_sha256: message.manifestSha256,
    activation_id: message.activationId,
  };
}
