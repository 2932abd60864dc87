import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { workspaceRoot } from '@caracal-deploy/config';

import { adminCall } from './services.test-support.js';

const fixtures = join(
  workspaceRoot(import.meta.url),
  '..',
  'shared',
  'contracts',
  'caracal',
  'fixtures',
);

/** The shared STS policy-input fixture, moved into `zone`, as JSON text. */
export function stsInput(zone: string): string {
  return JSON.stringify(policyInput(zone));
}

/** The shared STS policy-input fixture in `zone`, optionally asking for `scope` (also its action). */
export function policyInput(zone: string, scope?: string): Record<string, unknown> {
  const input = JSON.parse(readFileSync(join(fixtures, 'policy-input.sts.valid.json'), 'utf8')) as {
    principal: { zone_id: string };
    action: { id: string };
    context: { requested_scopes: string[] };
  };
  input.principal.zone_id = zone;
  if (scope !== undefined) {
    input.action.id = scope;
    input.context.requested_scopes = [scope];
  }
  return input;
}

/** POSTs `body` to `path`; a 409 (it exists from an earlier call) is fine. */
async function ensure(baseUrl: string, token: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok && response.status !== 409) {
    throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  }
}

/**
 * Declares the expected cases of the zone's `main` policy set (creating the
 * set on first use); every policy-set version pushed after this runs them.
 */
export async function putExpectedCases(
  baseUrl: string,
  token: string,
  zone: string,
  cases: readonly { name: string; input: unknown; expected_decision: 'allow' | 'deny' }[],
): Promise<void> {
  await ensure(baseUrl, token, `/v1/zones/${zone}/policy-sets`, { name: 'main' });
  await adminCall(baseUrl, token, 'PUT', `/v1/zones/${zone}/policy-sets/main/expected-cases`, {
    cases,
  });
}

/** A policy-set version as the activation path names it. */
export interface PushedVersion {
  readonly versionId: string;
  /** The manifest sha256: the bundle's revision. */
  readonly revision: string;
}

/**
 * Pushes one Rego module through the Admin API the way an author does: a policy
 * version (validated by the real OPA), a policy-set version of it, and its
 * signed bundle. Creates the zone's `authz` policy and `main` set on first use.
 */
export async function pushPolicySetVersion(
  baseUrl: string,
  token: string,
  zone: string,
  source: string,
): Promise<PushedVersion> {
  await ensure(baseUrl, token, `/v1/zones/${zone}/policies`, { name: 'authz' });
  await ensure(baseUrl, token, `/v1/zones/${zone}/policy-sets`, { name: 'main' });
  const policyVersion = await adminCall<{ id: string }>(
    baseUrl,
    token,
    'POST',
    `/v1/zones/${zone}/policies/authz/versions`,
    { modules: [{ path: 'authz.rego', source }] },
  );
  const setVersion = await adminCall<{ id: string; manifest_sha256: string }>(
    baseUrl,
    token,
    'POST',
    `/v1/zones/${zone}/policy-sets/main/versions`,
    { policy_version_ids: [policyVersion.id] },
  );
  await adminCall(
    baseUrl,
    token,
    'POST',
    `/v1/zones/${zone}/policy-sets/main/versions/${setVersion.id}/bundle`,
  );
  return { versionId: setVersion.id, revision: setVersion.manifest_sha256 };
}
