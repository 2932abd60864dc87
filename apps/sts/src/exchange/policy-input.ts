import type { CatalogResource } from '../sources/admin-api.client.js';

/** Schema version of the Caracal policy input the STS builds. */
export const policyInputSchemaVersion = '2026-05-20';

/** `action.id` of a direct token exchange (the Gateway sends operation ids with method and path). */
export const exchangeActionId = 'token.exchange';

/** What the STS knows about one token exchange for one resource. */
export interface ExchangeFacts {
  readonly zoneId: string;
  /** Verified subject-token claims. */
  readonly subjectClaims: Readonly<Record<string, unknown>>;
  /** Verified actor-token claims; empty without an actor token. */
  readonly actorClaims: Readonly<Record<string, unknown>>;
  readonly resource: CatalogResource;
  readonly requestedScopes: readonly string[];
  readonly traceId?: string;
}

/** `principal.type` from the subject's `sub_type` claim (`application` → Application, else User). */
export function principalType(claims: Readonly<Record<string, unknown>>): 'User' | 'Application' {
  return claims['sub_type'] === 'application' ? 'Application' : 'User';
}

/** The caracal-policy-input-2026-05-20 document of one exchange for one resource. */
export function buildPolicyInput(facts: ExchangeFacts): Record<string, unknown> {
  return {
    schema_version: policyInputSchemaVersion,
    principal: {
      type: principalType(facts.subjectClaims),
      id: String(facts.subjectClaims['sub']),
      zone_id: facts.zoneId,
    },
    resource: {
      type: facts.resource.type ?? 'http',
      id: facts.resource.id,
      identifier: facts.resource.identifier,
      scopes: [...facts.resource.scopes],
    },
    action: { id: exchangeActionId },
    context: {
      actor_claims: { ...facts.actorClaims },
      subject_claims: { ...facts.subjectClaims },
      challenge_resolved: false,
      requested_scopes: [...facts.requestedScopes],
      ...(facts.traceId ? { trace_id: facts.traceId } : {}),
    },
  };
}

/** The trace id of a W3C `traceparent` header, when well-formed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(
    traceparent?.trim() ?? '',
  );
  return match && !/^0+$/.test(match[1]!) ? match[1] : undefined;
}
