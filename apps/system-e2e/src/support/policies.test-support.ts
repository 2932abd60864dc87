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
  const input = JSON.parse(readFileSync(join(fixtures, 'policy-input.sts.valid.json'), 'utf8')) as {
    principal: { zone_id: string };
  };
  input.principal.zone_id = zone;
  return JSON.stringify(input);
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
  const exists = async (path: string, body: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok && response.status !== 409) {
      throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
    }
  };
  await exists(`/v1/zones/${zone}/policies`, { name: 'authz' });
  await exists(`/v1/zones/${zone}/policy-sets`, { name: 'main' });
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
