import type { ExpectedDecision, Probe } from './probe.js';
import {
  RouteTable,
  unsafePathReason,
  type Operation,
  type Route,
} from '@caracal-deploy/gateway-routes';

/** One expected case of a policy set, as the Admin API returns it. */
export interface ExpectedCase {
  readonly name: string;
  /** A caracal-policy-input-2026-05-20 document. */
  readonly input: Readonly<Record<string, unknown>>;
  readonly expected_decision: ExpectedDecision;
}

/** A case that could not become a probe, and why. */
export interface UnmappedCase {
  readonly name: string;
  readonly reason: string;
}

/** Probes derived from expected cases, and the cases left out. */
export interface DerivedProbes {
  readonly probes: readonly Probe[];
  readonly unmapped: readonly UnmappedCase[];
}

/** Prefix of the ids of probes derived from expected cases: `case:<name>`. */
export const caseProbePrefix = 'case:';

// The fields of the input the Gateway sets (apps/gateway policy-input): a case
// that relies on anything else cannot be reproduced through the Gateway.
const gatewayFields: Readonly<Record<string, readonly string[]>> = {
  '': ['schema_version', 'principal', 'resource', 'action', 'session', 'context'],
  principal: ['type', 'id', 'zone_id'],
  resource: ['type', 'id', 'identifier', 'scopes'],
  action: ['id', 'method', 'path'],
  session: ['id'],
  context: [
    'actor_claims',
    'subject_claims',
    'challenge_resolved',
    'requested_scopes',
    'session_id',
    'trace_id',
  ],
};

// Access-token claims the STS sets itself (or the Gateway checks elsewhere): a
// case's value for them is not something the canary principal can bring.
const issuedClaims = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'scope',
  'target',
  'use',
  'sub',
  'sub_type',
  'zone_id',
]);
// Subject-token claims the STS carries into the access token the Gateway reads.
const carriedClaims = new Set(['client_id', 'sid', 'root_sid']);

class Unmappable extends Error {}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Unmappable(`${field} is not an object`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Unmappable(`${field} is not a non-empty string`);
  }
  return value;
}

function onlyGatewayFields(object: Record<string, unknown>, at: string): void {
  const known = gatewayFields[at] ?? [];
  for (const [key, value] of Object.entries(object)) {
    if (value === null || value === undefined || known.includes(key)) continue;
    throw new Unmappable(
      `${at ? `${at}.` : ''}${key} is set, but the Gateway never sends it to the policy`,
    );
  }
}

function sessionIdOf(session: Record<string, unknown>): string {
  onlyGatewayFields(session, 'session');
  return text(session['id'], 'session.id');
}

function sameSet(a: readonly unknown[], b: readonly string[]): boolean {
  return a.length === b.length && b.every((item) => a.includes(item));
}

/**
 * The route, method, path and operation of a case: its action's method and
 * path when it names them (a Gateway decision), else the route fronting its
 * resource whose operation id is the action id, at the route's prefix.
 */
function locate(
  routes: readonly Route[],
  identifier: string,
  action: Record<string, unknown>,
): { route: Route; method: string; path: string; operation: Operation } {
  const actionId = text(action['id'], 'action.id');
  const method = action['method'];
  const path = action['path'];
  if (method !== undefined || path !== undefined) {
    const upper = text(method, 'action.method').toUpperCase();
    const at = text(path, 'action.path');
    // The Gateway refuses such paths before routing (see unsafePathReason).
    if (unsafePathReason(at) !== undefined) {
      throw new Unmappable(`action.path ${JSON.stringify(at)} is not a path the Gateway routes`);
    }
    const route = new RouteTable(routes).match(at);
    if (!route) throw new Unmappable(`no Gateway route serves action.path ${at}`);
    if (route.resource.identifier !== identifier) {
      throw new Unmappable(
        `action.path ${at} routes to ${route.resource.identifier}, not ${identifier}`,
      );
    }
    const operation = route.operations.get(upper);
    if (!operation) {
      throw new Unmappable(
        `route ${route.prefix || '/'} has no ${upper} operation (it has ${[...route.operations.keys()].join(', ')})`,
      );
    }
    if (operation.id !== actionId) {
      throw new Unmappable(
        `action.id is ${actionId}, but the Gateway sends ${operation.id} for ${upper} ${route.prefix || '/'}`,
      );
    }
    return { route, method: upper, path: at, operation };
  }
  const fronting = routes.filter((route) => route.resource.identifier === identifier);
  if (fronting.length === 0) throw new Unmappable(`no Gateway route fronts ${identifier}`);
  for (const route of fronting) {
    for (const [verb, operation] of route.operations) {
      if (operation.id === actionId) {
        return { route, method: verb, path: route.prefix || '/', operation };
      }
    }
  }
  const offered = fronting.flatMap((route) =>
    [...route.operations].map(
      ([verb, operation]) => `${verb} ${route.prefix || '/'} = ${operation.id}`,
    ),
  );
  throw new Unmappable(
    `action ${actionId} is no operation of a route fronting ${identifier} (operations: ${offered.join('; ')})`,
  );
}

/** The probe of one case, or throws {@link Unmappable} saying why it cannot be one. */
function probeOf(testCase: ExpectedCase, routes: readonly Route[], zone: string): Probe {
  const input = record(testCase.input, 'input');
  onlyGatewayFields(input, '');
  const principal = record(input['principal'], 'principal');
  const resource = record(input['resource'], 'resource');
  const action = record(input['action'], 'action');
  const context = record(input['context'], 'context');
  for (const [at, object] of Object.entries({ principal, resource, action, context })) {
    onlyGatewayFields(object, at);
  }

  const type = text(principal['type'], 'principal.type');
  if (type !== 'User' && type !== 'Application') {
    throw new Unmappable(`principal.type ${type}: the Gateway sends only User or Application`);
  }
  const sub = text(principal['id'], 'principal.id');
  const principalZone = text(principal['zone_id'], 'principal.zone_id');
  if (principalZone !== zone) {
    throw new Unmappable(`principal.zone_id is ${principalZone}, not the zone ${zone}`);
  }

  const identifier = text(resource['identifier'], 'resource.identifier');
  const { route, method, path, operation } = locate(routes, identifier, action);
  if (resource['id'] !== undefined && resource['id'] !== route.resource.id) {
    throw new Unmappable(
      `resource.id is ${JSON.stringify(resource['id'])}; the Gateway sends ${route.resource.id}`,
    );
  }
  if (resource['type'] !== undefined && resource['type'] !== route.resource.type) {
    throw new Unmappable(
      `resource.type is ${JSON.stringify(resource['type'])}; the Gateway sends ${route.resource.type}`,
    );
  }
  if (Array.isArray(resource['scopes']) && !sameSet(resource['scopes'], route.resource.scopes)) {
    throw new Unmappable(
      `resource.scopes are [${resource['scopes'].join(', ')}]; the Gateway sends [${route.resource.scopes.join(', ')}]`,
    );
  }

  const requested = context['requested_scopes'];
  if (!Array.isArray(requested) || !sameSet(requested, [operation.scope])) {
    throw new Unmappable(
      `context.requested_scopes are ${JSON.stringify(requested)}; the Gateway requests ["${operation.scope}"] for ${method} ${route.prefix || '/'}`,
    );
  }
  const actorClaims = context['actor_claims'];
  if (
    actorClaims !== undefined &&
    Object.keys(record(actorClaims, 'context.actor_claims')).length > 0
  ) {
    throw new Unmappable('context.actor_claims is not empty; the Gateway sends no actor');
  }
  if (context['challenge_resolved'] === true) {
    throw new Unmappable('context.challenge_resolved is true; the Gateway sends false');
  }

  const subjectClaims: Record<string, unknown> = {
    sub,
    zone_id: zone,
    ...(type === 'Application' ? { sub_type: 'application' } : {}),
  };
  const caseClaims =
    context['subject_claims'] === undefined
      ? {}
      : record(context['subject_claims'], 'context.subject_claims');
  for (const [claim, value] of Object.entries(caseClaims)) {
    if (claim === 'sub' && value !== sub) {
      throw new Unmappable(
        `context.subject_claims.sub is ${JSON.stringify(value)}, not principal.id ${sub}`,
      );
    }
    if (claim === 'zone_id' && value !== zone) {
      throw new Unmappable(
        `context.subject_claims.zone_id is ${JSON.stringify(value)}, not ${zone}`,
      );
    }
    if (issuedClaims.has(claim)) continue;
    if (!carriedClaims.has(claim)) {
      throw new Unmappable(
        `context.subject_claims.${claim} cannot reach the Gateway: the STS's access token does not carry it`,
      );
    }
    subjectClaims[claim] = value;
  }
  const session =
    input['session'] === undefined || input['session'] === null
      ? undefined
      : sessionIdOf(record(input['session'], 'session'));
  const sessionId =
    context['session_id'] === undefined
      ? undefined
      : text(context['session_id'], 'context.session_id');
  for (const sid of [session, sessionId]) {
    if (sid === undefined) continue;
    if (subjectClaims['sid'] !== undefined && subjectClaims['sid'] !== sid) {
      throw new Unmappable(
        `session ${sid} disagrees with subject claim sid ${JSON.stringify(subjectClaims['sid'])}`,
      );
    }
    subjectClaims['sid'] = sid;
  }

  return {
    id: `${caseProbePrefix}${testCase.name}`,
    zone,
    subjectClaims,
    resource: identifier,
    scopes: [operation.scope],
    method,
    path,
    expectedDecision: testCase.expected_decision,
  };
}

/**
 * Turns a policy set's expected cases into canary probes through the Gateway's
 * `routes`: a case becomes a probe when the input the Gateway would build for
 * the probe's request decides like the case's input (same principal, resource,
 * action, requested scope; nothing the Gateway cannot send). Every other case
 * is returned with the reason it was left out.
 */
export function deriveProbes(
  cases: readonly ExpectedCase[],
  routes: readonly Route[],
  zone: string,
): DerivedProbes {
  const probes: Probe[] = [];
  const unmapped: UnmappedCase[] = [];
  for (const testCase of cases) {
    try {
      probes.push(probeOf(testCase, routes, zone));
    } catch (error) {
      if (!(error instanceof Unmappable)) throw error;
      unmapped.push({ name: testCase.name, reason: error.message });
    }
  }
  return { probes, unmapped };
}
