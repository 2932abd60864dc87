import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import type { PolicySetManifest, PolicyVersionContent } from '../database/registry.schema.js';

/** A policy version as a set member: its id, its policy's name, its zone id and content. */
export interface SetMember {
  readonly id: string;
  readonly policyName: string;
  readonly zoneId: string;
  readonly contentSha256: string;
  readonly content: PolicyVersionContent;
}

/**
 * Checks the requested members of a policy-set version and returns its
 * manifest (members sorted by policy name, so the same members in any order
 * give the same manifest sha): every id must be a policy version of this
 * zone, at most one version per policy, at most `maxSize` members.
 */
export function policySetManifest(
  zone: { id: string; name: string },
  setName: string,
  requested: readonly string[],
  found: ReadonlyMap<string, SetMember>,
  maxSize: number,
): PolicySetManifest {
  const violations: FieldViolation[] = [];
  if (requested.length > maxSize) {
    violations.push({
      field: 'policy_version_ids',
      problem: `at most ${maxSize} policy versions per policy-set version, got ${requested.length}`,
    });
  }
  const byPolicy = new Map<string, number>();
  const seen = new Set<string>();
  requested.forEach((id, index) => {
    const field = `policy_version_ids[${index}]`;
    const member = found.get(id);
    if (seen.has(id)) violations.push({ field, problem: `${id} is listed twice` });
    seen.add(id);
    if (member === undefined || member.zoneId !== zone.id) {
      violations.push({ field, problem: `no policy version ${id} in zone "${zone.name}"` });
      return;
    }
    const other = byPolicy.get(member.policyName);
    if (other !== undefined && requested[other] !== id) {
      violations.push({
        field,
        problem: `policy "${member.policyName}" is already in the set as policy_version_ids[${other}]; a set holds one version per policy`,
      });
    }
    byPolicy.set(member.policyName, index);
  });
  if (violations.length > 0) {
    const [first] = violations;
    throw new InvalidArgumentError(
      `invalid policy-set version: ${first?.field}: ${first?.problem}`,
      {
        violations,
      },
    );
  }
  const members = [...new Set(requested)]
    .map((id) => found.get(id))
    .filter((member): member is SetMember => member !== undefined)
    .sort((a, b) => (a.policyName < b.policyName ? -1 : a.policyName > b.policyName ? 1 : 0));
  return {
    schema: 'caracal-deploy.policy-set-manifest.v1',
    zone: zone.name,
    policy_set: setName,
    policy_versions: members.map((member) => ({
      policy: member.policyName,
      id: member.id,
      content_sha256: member.contentSha256,
    })),
  };
}

/**
 * The merged content of a set: every member's modules, data and tests. Paths
 * are bundle paths, so two members claiming the same module or data path is a
 * 400 naming both rather than one silently shadowing the other. Pack tests
 * are prefixed with their policy's name so results say whose test failed.
 */
export function mergeSetContent(
  manifest: PolicySetManifest,
  contents: ReadonlyMap<string, PolicyVersionContent>,
): PolicyVersionContent {
  const owners = new Map<string, string>();
  const violations: FieldViolation[] = [];
  const claim = (path: string, policy: string) => {
    const owner = owners.get(path);
    if (owner !== undefined) {
      violations.push({
        field: 'policy_version_ids',
        problem: `path ${path} of policy "${policy}" is also in policy "${owner}"`,
      });
    }
    owners.set(path, policy);
  };
  const modules: { path: string; source: string }[] = [];
  const data: { path: string; json: unknown }[] = [];
  const tests: PolicyVersionContent['tests'][number][] = [];
  for (const member of manifest.policy_versions) {
    const content = contents.get(member.id);
    if (content === undefined) throw new Error(`content of policy version ${member.id} not loaded`);
    for (const module of content.modules) {
      claim(module.path, member.policy);
      modules.push(module);
    }
    for (const document of content.data) {
      claim(document.path, member.policy);
      data.push(document);
    }
    for (const test of content.tests)
      tests.push({ ...test, name: `${member.policy}: ${test.name}` });
  }
  if (violations.length > 0) {
    const [first] = violations;
    throw new InvalidArgumentError(`conflicting policy versions: ${first?.problem}`, {
      violations,
    });
  }
  return { modules, data, tests };
}
