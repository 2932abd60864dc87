import type { z } from 'zod';

import type { Access } from '../auth/roles.js';
import {
  abortDeploymentBody,
  createDeploymentBody,
  createDeploymentView,
  deploymentActionBody,
  deploymentParams,
  deploymentsQuery,
  deploymentView,
  deploymentWatchLine,
  watchDeploymentQuery,
  activateBody,
  activateView,
  activationParams,
  activationRecordView,
  activationStatusView,
  activationWatchLine,
  rollbackBody,
  rollbackResultView,
  rollbacksQuery,
  rollbackView,
  zoneActivationView,
  bundleParams,
  bundleView,
  createNamedBody,
  errorBody,
  expectedCasesView,
  putExpectedCasesBody,
  replayBody,
  replayStreamLine,
  replayView,
  simulateBody,
  simulationView,
  createPolicySetVersionBody,
  createPolicyVersionBody,
  createResourceBody,
  createTokenBody,
  createZoneBody,
  historyQuery,
  historyView,
  listQuery,
  namedView,
  pageOf,
  policyParams,
  policySetParams,
  policySetVersionParams,
  policySetVersionView,
  policyVersionParams,
  policyVersionView,
  resourceParams,
  resourceView,
  tokenParams,
  tokenView,
  uploadPackBody,
  zoneParams,
  zoneView,
} from './api.schemas.js';

/** HTTP methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One documented response of a route. */
export interface ResponseDef {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Defaults to application/json when a schema is given. */
  readonly contentType?: string;
  /** Other representations of the same response, chosen by the request's `Accept`. */
  readonly alternatives?: Readonly<Record<string, z.ZodType>>;
}

/**
 * One route: what Nest registers, what the guard demands, what the request is
 * validated against, and what the OpenAPI document says — all from this entry.
 */
export interface RouteDef {
  readonly method: HttpMethod;
  /** OpenAPI-style path: `{param}` for parameters, a literal `:` for custom verbs. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** Status code → response; error responses are added by the document builder. */
  readonly responses: Readonly<Record<number, ResponseDef>>;
}

const json = (description: string, schema: z.ZodType): ResponseDef => ({ description, schema });

const versionPaths = {
  policyVersion: '/v1/zones/{zone}/policies/{policy}/versions/{id}',
  policySetVersion: '/v1/zones/{zone}/policy-sets/{set}/versions/{id}',
  bundle: '/v1/bundles/{sha256}',
} as const;

/** The routes that would modify an immutable version: each answers 405 with `Allow: GET, HEAD`. */
function immutableRoutes<N extends string>(
  name: N,
  path: string,
  params: z.ZodObject,
): Record<`${'put' | 'patch' | 'delete'}${N}`, RouteDef> {
  const entries = (['put', 'patch', 'delete'] as const).map((method): [string, RouteDef] => [
    `${method}${name}`,
    {
      method,
      path,
      operationId: `${method}${name}`,
      summary: `Refused: ${name
        .replace(/([A-Z])/g, ' $1')
        .trim()
        .toLowerCase()}s are immutable`,
      tag: 'immutability',
      access: 'public',
      params,
      responses: { 405: { description: 'Versions never change; create a new one instead.' } },
    },
  ]);
  return Object.fromEntries(entries) as Record<`${'put' | 'patch' | 'delete'}${N}`, RouteDef>;
}

/** Every route of the Admin REST API. */
export const routes = {
  getOpenApi: {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI 3.1 document',
    tag: 'meta',
    access: 'public',
    responses: { 200: { description: 'The OpenAPI document', contentType: 'application/json' } },
  },
  getHealth: {
    method: 'get',
    path: '/v1/health',
    operationId: 'getHealth',
    summary: 'Dependency checks: PostgreSQL and the policy-validator',
    tag: 'meta',
    access: 'public',
    responses: {
      200: { description: 'Every dependency is healthy', contentType: 'application/json' },
      503: { description: 'A dependency is unhealthy', contentType: 'application/json' },
    },
  },
  createToken: {
    method: 'post',
    path: '/v1/tokens',
    operationId: 'createToken',
    summary: 'Create an API token; the secret is returned once',
    tag: 'tokens',
    access: 'admin',
    body: createTokenBody,
    responses: { 201: json('The token, with its secret', tokenView) },
  },
  listTokens: {
    method: 'get',
    path: '/v1/tokens',
    operationId: 'listTokens',
    summary: 'List API tokens (never their secrets)',
    tag: 'tokens',
    access: 'admin',
    query: listQuery,
    responses: { 200: json('A page of tokens', pageOf(tokenView)) },
  },
  revokeToken: {
    method: 'delete',
    path: '/v1/tokens/{id}',
    operationId: 'revokeToken',
    summary: 'Revoke an API token',
    tag: 'tokens',
    access: 'admin',
    params: tokenParams,
    responses: { 200: json('The revoked token', tokenView) },
  },
  createZone: {
    method: 'post',
    path: '/v1/zones',
    operationId: 'createZone',
    summary: 'Create a zone',
    tag: 'zones',
    access: 'admin',
    body: createZoneBody,
    responses: { 201: json('The new zone', zoneView) },
  },
  listZones: {
    method: 'get',
    path: '/v1/zones',
    operationId: 'listZones',
    summary: 'List zones',
    tag: 'zones',
    access: 'viewer',
    query: listQuery,
    responses: { 200: json('A page of zones', pageOf(zoneView)) },
  },
  getZone: {
    method: 'get',
    path: '/v1/zones/{zone}',
    operationId: 'getZone',
    summary: 'Get a zone',
    tag: 'zones',
    access: 'viewer',
    params: zoneParams,
    responses: { 200: json('The zone', zoneView) },
  },
  createResource: {
    method: 'post',
    path: '/v1/zones/{zone}/resources',
    operationId: 'createResource',
    summary: "Add a resource to the zone's catalog",
    tag: 'catalog',
    access: 'admin',
    params: zoneParams,
    body: createResourceBody,
    responses: { 201: json('The new resource', resourceView) },
  },
  listResources: {
    method: 'get',
    path: '/v1/zones/{zone}/resources',
    operationId: 'listResources',
    summary: "List the zone's catalog",
    tag: 'catalog',
    access: 'viewer',
    params: zoneParams,
    query: listQuery,
    responses: { 200: json('A page of resources', pageOf(resourceView)) },
  },
  getResource: {
    method: 'get',
    path: '/v1/zones/{zone}/resources/{resource}',
    operationId: 'getResource',
    summary: 'Get a resource by the slug of its resource:// identifier',
    tag: 'catalog',
    access: 'viewer',
    params: resourceParams,
    responses: { 200: json('The resource', resourceView) },
  },
  createPolicy: {
    method: 'post',
    path: '/v1/zones/{zone}/policies',
    operationId: 'createPolicy',
    summary: 'Create a policy',
    tag: 'policies',
    access: 'author',
    params: zoneParams,
    body: createNamedBody,
    responses: { 201: json('The new policy', namedView) },
  },
  listPolicies: {
    method: 'get',
    path: '/v1/zones/{zone}/policies',
    operationId: 'listPolicies',
    summary: 'List policies',
    tag: 'policies',
    access: 'viewer',
    params: zoneParams,
    query: listQuery,
    responses: { 200: json('A page of policies', pageOf(namedView)) },
  },
  getPolicy: {
    method: 'get',
    path: '/v1/zones/{zone}/policies/{policy}',
    operationId: 'getPolicy',
    summary: 'Get a policy',
    tag: 'policies',
    access: 'viewer',
    params: policyParams,
    responses: { 200: json('The policy', namedView) },
  },
  createPolicyVersion: {
    method: 'post',
    path: '/v1/zones/{zone}/policies/{policy}/versions',
    operationId: 'createPolicyVersion',
    summary: 'Upload Rego modules, data and pack tests as a new, validated policy version',
    tag: 'policies',
    access: 'author',
    params: policyParams,
    body: createPolicyVersionBody,
    responses: {
      201: json('A new valid version', policyVersionView),
      200: json('Identical content exists already: that version', policyVersionView),
      422: json('The validator found errors; the version and its verdict are stored', errorBody),
    },
  },
  uploadPolicyPack: {
    method: 'post',
    path: '/v1/zones/{zone}/policies/{policy}/versions:pack',
    operationId: 'uploadPolicyPack',
    summary: 'Upload a Caracal policy pack (manifest 2026-05-21 + files) as a new policy version',
    tag: 'policies',
    access: 'author',
    params: policyParams,
    body: uploadPackBody,
    responses: {
      201: json('A new valid version', policyVersionView),
      200: json('Identical content exists already: that version', policyVersionView),
      422: json('The validator found errors; the version and its verdict are stored', errorBody),
    },
  },
  listPolicyVersions: {
    method: 'get',
    path: '/v1/zones/{zone}/policies/{policy}/versions',
    operationId: 'listPolicyVersions',
    summary: 'List versions of a policy, newest first',
    tag: 'policies',
    access: 'viewer',
    params: policyParams,
    query: listQuery,
    responses: { 200: json('A page of versions', pageOf(policyVersionView)) },
  },
  getPolicyVersion: {
    method: 'get',
    path: versionPaths.policyVersion,
    operationId: 'getPolicyVersion',
    summary: 'Get a policy version with its content and latest verdict',
    tag: 'policies',
    access: 'viewer',
    params: policyVersionParams,
    responses: { 200: json('The version', policyVersionView) },
  },
  ...immutableRoutes('PolicyVersion', versionPaths.policyVersion, policyVersionParams),
  createPolicySet: {
    method: 'post',
    path: '/v1/zones/{zone}/policy-sets',
    operationId: 'createPolicySet',
    summary: 'Create a policy set',
    tag: 'policy-sets',
    access: 'author',
    params: zoneParams,
    body: createNamedBody,
    responses: { 201: json('The new policy set', namedView) },
  },
  listPolicySets: {
    method: 'get',
    path: '/v1/zones/{zone}/policy-sets',
    operationId: 'listPolicySets',
    summary: 'List policy sets',
    tag: 'policy-sets',
    access: 'viewer',
    params: zoneParams,
    query: listQuery,
    responses: { 200: json('A page of policy sets', pageOf(namedView)) },
  },
  getPolicySet: {
    method: 'get',
    path: '/v1/zones/{zone}/policy-sets/{set}',
    operationId: 'getPolicySet',
    summary: 'Get a policy set',
    tag: 'policy-sets',
    access: 'viewer',
    params: policySetParams,
    responses: { 200: json('The policy set', namedView) },
  },
  createPolicySetVersion: {
    method: 'post',
    path: '/v1/zones/{zone}/policy-sets/{set}/versions',
    operationId: 'createPolicySetVersion',
    summary: 'Create a policy-set version from policy versions and validate the merged set',
    tag: 'policy-sets',
    access: 'author',
    params: policySetParams,
    body: createPolicySetVersionBody,
    responses: {
      201: json('A new valid policy-set version', policySetVersionView),
      200: json('The same manifest exists already: that version', policySetVersionView),
      422: json('The validator found errors; the version and its verdict are stored', errorBody),
    },
  },
  listPolicySetVersions: {
    method: 'get',
    path: '/v1/zones/{zone}/policy-sets/{set}/versions',
    operationId: 'listPolicySetVersions',
    summary: 'List versions of a policy set, newest first',
    tag: 'policy-sets',
    access: 'viewer',
    params: policySetParams,
    query: listQuery,
    responses: { 200: json('A page of versions', pageOf(policySetVersionView)) },
  },
  getPolicySetVersion: {
    method: 'get',
    path: versionPaths.policySetVersion,
    operationId: 'getPolicySetVersion',
    summary: 'Get a policy-set version with its manifest, latest verdict and bundle',
    tag: 'policy-sets',
    access: 'viewer',
    params: policySetVersionParams,
    responses: { 200: json('The version', policySetVersionView) },
  },
  ...immutableRoutes('PolicySetVersion', versionPaths.policySetVersion, policySetVersionParams),
  buildBundle: {
    method: 'post',
    path: '/v1/zones/{zone}/policy-sets/{set}/versions/{id}/bundle',
    operationId: 'buildBundle',
    summary: 'Build and sign the bundle of a valid policy-set version (revision = manifest sha256)',
    tag: 'bundles',
    access: 'author',
    params: policySetVersionParams,
    responses: {
      201: json('The new bundle', bundleView),
      200: json('The bundle was built before', bundleView),
      422: json('The version is not valid; no bundle is built', errorBody),
    },
  },
  getBundle: {
    method: 'get',
    path: versionPaths.bundle,
    operationId: 'getBundle',
    summary: 'Download a bundle by the sha256 of its bytes',
    tag: 'bundles',
    access: 'viewer',
    params: bundleParams,
    responses: {
      200: { description: 'The bundle (tar.gz)', contentType: 'application/gzip' },
      304: { description: 'The If-None-Match ETag matches' },
    },
  },
  ...immutableRoutes('Bundle', versionPaths.bundle, bundleParams),
  simulatePolicySetVersion: {
    method: 'post',
    path: '/v1/zones/{zone}/policy-sets/{set}/versions/{id}/simulations',
    operationId: 'simulatePolicySetVersion',
    summary:
      "Evaluate declared cases on the version's signed bundle, optionally against the zone's live version",
    tag: 'simulation',
    access: 'author',
    params: policySetVersionParams,
    body: simulateBody,
    responses: {
      200: json(
        'Per case: decision, status, expected vs actual, flips, input warnings',
        simulationView,
      ),
      400: json(
        'A case is malformed (names the field) and the caller did not ask to run the rest',
        errorBody,
      ),
      404: json('No such zone, policy set or version', errorBody),
      409: json(
        'The version failed validation (names why), or the zone has no live version to compare with',
        errorBody,
      ),
      413: json('More cases than the validator accepts in one batch (names the limit)', errorBody),
      503: json(
        'The policy-validator (or, against live, the activation coordinator) is unavailable',
        errorBody,
      ),
    },
  },
  replayPolicySetVersion: {
    method: 'post',
    path: '/v1/zones/{zone}/policy-sets/{set}/versions/{id}/replays',
    operationId: 'replayPolicySetVersion',
    summary:
      "Impact analysis: replay the zone's recorded decisions on the version's signed bundle and judge the gate",
    tag: 'simulation',
    access: 'author',
    params: policySetVersionParams,
    body: replayBody,
    responses: {
      200: {
        description:
          'The impact report and gate result (no_data when nothing was recorded, never a pass); with Accept: application/x-ndjson, progress lines then the result line',
        schema: replayView,
        alternatives: { 'application/x-ndjson': replayStreamLine },
      },
      404: json('No such zone, policy set or version', errorBody),
      409: json('The version failed validation (names why)', errorBody),
      503: json('Kafka or the policy-validator is unavailable', errorBody),
    },
  },
  putExpectedCases: {
    method: 'put',
    path: '/v1/zones/{zone}/policy-sets/{set}/expected-cases',
    operationId: 'putExpectedCases',
    summary:
      "Replace the policy set's expected cases; every new version of the set is simulated on them",
    tag: 'simulation',
    access: 'author',
    params: policySetParams,
    body: putExpectedCasesBody,
    responses: { 200: json('The stored expected cases', expectedCasesView) },
  },
  getExpectedCases: {
    method: 'get',
    path: '/v1/zones/{zone}/policy-sets/{set}/expected-cases',
    operationId: 'getExpectedCases',
    summary: "The policy set's expected cases (an empty list when none were stored)",
    tag: 'simulation',
    access: 'viewer',
    params: policySetParams,
    responses: { 200: json('The expected cases', expectedCasesView) },
  },
  activateVersion: {
    method: 'post',
    path: '/v1/zones/{zone}/activations',
    operationId: 'activateVersion',
    summary:
      "Make a validated policy-set version the zone's active one (compare-and-set on the active version, idempotent by key)",
    tag: 'activation',
    access: 'deployer',
    params: zoneParams,
    body: activateBody,
    responses: {
      201: json('The new activation; follow it with the status or watch route', activateView),
      200: json('The idempotency key made this activation before: that activation', activateView),
      400: json(
        'A malformed field (named), no idempotency key, a header and body key that differ, or a version of another zone',
        errorBody,
      ),
      404: json('No such zone or policy-set version', errorBody),
      409: json(
        'The zone does not serve expected_active_version_id (details.current_active_version_id names what it serves), or the version is not validated or has no bundle',
        errorBody,
      ),
      503: json('The activation coordinator is unavailable; nothing changed', errorBody),
    },
  },
  listActivations: {
    method: 'get',
    path: '/v1/zones/{zone}/activations',
    operationId: 'listActivations',
    summary: "The zone's activation history, newest first, with how each rollout ended",
    tag: 'activation',
    access: 'viewer',
    params: zoneParams,
    query: listQuery,
    responses: {
      200: json('A page of activations', pageOf(activationRecordView)),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  getActivation: {
    method: 'get',
    path: '/v1/zones/{zone}/activations/{activation}',
    operationId: 'getActivation',
    summary: 'An activation with its outbox and per-replica progress',
    tag: 'activation',
    access: 'viewer',
    params: activationParams,
    responses: {
      200: json('The activation and where its rollout stands', activationStatusView),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  watchActivation: {
    method: 'get',
    path: '/v1/zones/{zone}/activations/{activation}/watch',
    operationId: 'watchActivation',
    summary:
      'Stream the status on every change until it is converged, stalled, dead-lettered or superseded',
    tag: 'activation',
    access: 'viewer',
    params: activationParams,
    responses: {
      200: {
        description:
          'One {"type":"status",…} line per change, the last one terminal; a failure after the first line ends the stream with {"type":"error",…}',
        schema: activationWatchLine,
        contentType: 'application/x-ndjson',
      },
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  getZoneBinding: {
    method: 'get',
    path: '/v1/zones/{zone}/binding',
    operationId: 'getZoneBinding',
    summary: 'What the zone serves now and the last known good version a rollback would activate',
    tag: 'activation',
    access: 'viewer',
    params: zoneParams,
    responses: {
      200: json('The active binding and last known good (null when none)', zoneActivationView),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  rollbackZone: {
    method: 'post',
    path: '/v1/zones/{zone}/rollbacks',
    operationId: 'rollbackZone',
    summary: 'Roll the zone back to its last known good version (idempotent by key)',
    tag: 'rollback',
    access: 'deployer',
    params: zoneParams,
    body: rollbackBody,
    responses: {
      201: json('Rolled back: the record and the activation it made', rollbackResultView),
      200: json(
        'Nothing changed: the same key rolled back before (duplicate), the zone no longer serves expected_active_version_id, or a rollback is in its cooldown',
        rollbackResultView,
      ),
      404: json('No such zone', errorBody),
      409: json(
        'The zone has no active or no last known good version, or another activation won the compare-and-set race',
        errorBody,
      ),
      503: json(
        'The rollback-controller (or the activation coordinator behind it) is unavailable',
        errorBody,
      ),
    },
  },
  listZoneRollbacks: {
    method: 'get',
    path: '/v1/zones/{zone}/rollbacks',
    operationId: 'listZoneRollbacks',
    summary: "The zone's rollbacks and skipped rollback requests, newest first",
    tag: 'rollback',
    access: 'viewer',
    params: zoneParams,
    query: listQuery,
    responses: {
      200: json('A page of rollbacks', pageOf(rollbackView)),
      503: json('The rollback-controller is unavailable', errorBody),
    },
  },
  listRollbacks: {
    method: 'get',
    path: '/v1/rollbacks',
    operationId: 'listRollbacks',
    summary: 'Rollbacks of every zone (or `?zone=`), newest first, with their triggers',
    tag: 'rollback',
    access: 'viewer',
    query: rollbacksQuery,
    responses: {
      404: json('No zone named by `?zone=`', errorBody),
      200: json('A page of rollbacks', pageOf(rollbackView)),
      503: json('The rollback-controller is unavailable', errorBody),
    },
  },
  createDeployment: {
    method: 'post',
    path: '/v1/deployments',
    operationId: 'createDeployment',
    summary:
      'Roll one policy-set version out through stages of zones: pre-flight checks, then per stage activate, converge, verify',
    tag: 'deployments',
    access: 'deployer',
    body: createDeploymentBody,
    responses: {
      201: json(
        'The new deployment; a failed pre-flight is a deployment in state failed with the checks as evidence',
        createDeploymentView,
      ),
      200: json(
        'The idempotency key made this deployment before: that deployment',
        createDeploymentView,
      ),
      400: json(
        'A malformed field, named exactly (e.g. stages[1].zones[0]), an unknown zone, no idempotency key, or a key reused for another request',
        errorBody,
      ),
      404: json('No such policy-set version', errorBody),
      503: json(
        'The activation coordinator is unavailable (or does not serve deployments)',
        errorBody,
      ),
    },
  },
  listDeployments: {
    method: 'get',
    path: '/v1/deployments',
    operationId: 'listDeployments',
    summary: 'Deployments (all, or those targeting `?zone=`), newest first',
    tag: 'deployments',
    access: 'viewer',
    query: deploymentsQuery,
    responses: {
      404: json('No zone named by `?zone=`', errorBody),
      200: json('A page of deployments', pageOf(deploymentView)),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  getDeployment: {
    method: 'get',
    path: '/v1/deployments/{deployment}',
    operationId: 'getDeployment',
    summary: 'A deployment with its pre-flight checks, stages, zones and verdicts',
    tag: 'deployments',
    access: 'viewer',
    params: deploymentParams,
    responses: {
      200: json('The deployment', deploymentView),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  watchDeployment: {
    method: 'get',
    path: '/v1/deployments/{deployment}/watch',
    operationId: 'watchDeployment',
    summary:
      'Stream the recorded events after `after_seq`, then each new one, until the deployment ends',
    tag: 'deployments',
    access: 'viewer',
    params: deploymentParams,
    query: watchDeploymentQuery,
    responses: {
      200: {
        description:
          'One {"type":"event","event":…,"deployment":…} line per state change, the last one ending the deployment; a failure after the first line ends the stream with {"type":"error",…}',
        schema: deploymentWatchLine,
        contentType: 'application/x-ndjson',
      },
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  pauseDeployment: {
    method: 'post',
    path: '/v1/deployments/{deployment}/pause',
    operationId: 'pauseDeployment',
    summary:
      'Stop the deployment from starting its next stage (the stage in progress finishes its verification)',
    tag: 'deployments',
    access: 'deployer',
    params: deploymentParams,
    body: deploymentActionBody,
    responses: {
      200: json('The paused deployment', deploymentView),
      409: json('The deployment has ended', errorBody),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  resumeDeployment: {
    method: 'post',
    path: '/v1/deployments/{deployment}/resume',
    operationId: 'resumeDeployment',
    summary: 'Let a paused deployment continue',
    tag: 'deployments',
    access: 'deployer',
    params: deploymentParams,
    body: deploymentActionBody,
    responses: {
      200: json('The running deployment', deploymentView),
      409: json('The deployment is not paused', errorBody),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  abortDeployment: {
    method: 'post',
    path: '/v1/deployments/{deployment}/abort',
    operationId: 'abortDeployment',
    summary:
      'End the deployment without starting another stage; with roll_back, also roll back every zone it activated',
    tag: 'deployments',
    access: 'deployer',
    params: deploymentParams,
    body: abortDeploymentBody,
    responses: {
      200: json('The ended (or rolling back) deployment', deploymentView),
      409: json('The deployment has ended', errorBody),
      503: json('The activation coordinator is unavailable', errorBody),
    },
  },
  listHistory: {
    method: 'get',
    path: '/v1/history',
    operationId: 'listHistory',
    summary:
      'Who created what in the registry, newest first (activations and rollbacks: their own routes)',
    tag: 'history',
    access: 'viewer',
    query: historyQuery,
    responses: { 200: json('A page of history entries', pageOf(historyView)) },
  },
} as const satisfies Record<string, RouteDef>;

/** Every route, for the document builder and the route-coverage test. */
export const allRoutes: readonly RouteDef[] = Object.values(routes);

/** Nest/Express path of an OpenAPI-style path: `{id}` → `:id`, literal `:` escaped. */
export function expressPath(path: string): string {
  return path.replace(/:/g, '\\:').replace(/\{([a-z0-9_]+)\}/gi, ':$1');
}

/** OpenAPI-style path of an Express route path (the inverse of {@link expressPath}). */
export function openApiPath(path: string): string {
  return path.replace(/(?<!\\):([a-z0-9_]+)/gi, '{$1}').replace(/\\:/g, ':');
}
