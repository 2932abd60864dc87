import type { AccessClaims } from '../auth/access-token.js';
import type { Operation, RouteResource } from '@caracal-deploy/gateway-routes';

/** Schema version of the Caracal policy input the Gateway sends to `StsService.Decide`. */
export const policyInputSchemaVersion = '2026-05-20';

/** What the Gateway knows about one request when it asks the STS. */
export interface RequestFacts {
  readonly claims: AccessClaims;
  readonly resource: RouteResource;
  readonly operation: Operation;
  readonly method: string;
  /** Request path as the caller sent it, without the query. */
  readonly path: string;
  readonly traceId?: string;
}

/**
 * The caracal-policy-input-2026-05-20 document of one proxied request: the
 * token's subject as principal, the route's resource, the operation as the
 * action with `method` and `path`, and the operation's scope as the requested one.
 */
export function buildGatewayInput(facts: RequestFacts): Record<string, unknown> {
  const claims = facts.claims.all;
  const sid = claims['sid'];
  return {
    schema_version: policyInputSchemaVersion,
    principal: {
      type: claims['sub_type'] === 'application' ? 'Application' : 'User',
      id: facts.claims.sub,
      zone_id: facts.claims.zoneId,
    },
    resource: {
      type: facts.resource.type,
      id: facts.resource.id,
      identifier: facts.resource.identifier,
      scopes: [...facts.resource.scopes],
    },
    action: { id: facts.operation.id, method: facts.method, path: facts.path },
    ...(typeof sid === 'string' && sid.length > 0 ? { session: { id: sid } } : {}),
    context: {
      actor_claims: {},
      subject_claims: { ...claims },
      challenge_resolved: false,
      requested_scopes: [facts.operation.scope],
      ...(typeof sid === 'string' && sid.length > 0 ? { session_id: sid } : {}),
      ...(facts.traceId ? { trace_id: facts.traceId } : {}),
    },
  };
}

/** The trace id of a W3C `traceparent` header, when well-formed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim());
  return match && !/^0+$/.test(match[1]!) ? match[1] : undefined;
}
