import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { canonicalSha256 } from '../common/canonical-json.js';
import { mergeSetContent, policySetManifest, type SetMember } from './policy-set-merge.js';

const zone = { id: 'zone-id', name: 'prod' };

function member(id: string, policyName: string, modulePath: string, zoneId = zone.id): SetMember {
  return {
    id,
    policyName,
    zoneId,
    contentSha256: id.padEnd(64, '0').slice(0, 64),
    content: {
      modules: [{ path: modulePath, source: `package caracal.${policyName}\n` }],
      data: [],
      tests: [{ name: 't', input: {}, expected_decision: 'deny' }],
    },
  };
}

const a = member('a', 'alpha', 'policies/alpha.rego');
const b = member('b', 'beta', 'policies/beta.rego');
const found = new Map([a, b].map((m) => [m.id, m]));

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    return error.violations.map((violation) => `${violation.field}: ${violation.problem}`);
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('policy-set manifests', () => {
  it('are the same, and hash the same, whatever order the versions are listed in', () => {
    const one = policySetManifest(zone, 'main', ['a', 'b'], found, 10);
    const two = policySetManifest(zone, 'main', ['b', 'a'], found, 10);
    assert.deepEqual(one, two);
    assert.equal(canonicalSha256(one), canonicalSha256(two));
    assert.deepEqual(
      one.policy_versions.map((entry) => entry.policy),
      ['alpha', 'beta'],
    );
  });

  it('refuse unknown ids, versions of another zone, duplicates and oversize sets', () => {
    const foreign = member('c', 'gamma', 'policies/gamma.rego', 'other-zone');
    const withForeign = new Map([...found, ['c', foreign]]);
    assert.deepEqual(
      problemsOf(() => policySetManifest(zone, 'main', ['a', 'x', 'c', 'a'], withForeign, 3)),
      [
        'policy_version_ids: at most 3 policy versions per policy-set version, got 4',
        'policy_version_ids[1]: no policy version x in zone "prod"',
        'policy_version_ids[2]: no policy version c in zone "prod"',
        'policy_version_ids[3]: a is listed twice',
      ],
    );
  });

  it('refuse two versions of the same policy', () => {
    const a2 = member('a2', 'alpha', 'policies/alpha.rego');
    const problems = problemsOf(() =>
      policySetManifest(zone, 'main', ['a', 'a2'], new Map([...found, ['a2', a2]]), 10),
    );
    assert.match(
      problems[0] ?? '',
      /^policy_version_ids\[1\]: policy "alpha" is already in the set/,
    );
  });
});

describe('merged set content', () => {
  it('concatenates members and prefixes pack tests with their policy', () => {
    const manifest = policySetManifest(zone, 'main', ['b', 'a'], found, 10);
    const merged = mergeSetContent(manifest, new Map([...found].map(([id, m]) => [id, m.content])));
    assert.deepEqual(
      merged.modules.map((module) => module.path),
      ['policies/alpha.rego', 'policies/beta.rego'],
    );
    assert.deepEqual(
      merged.tests.map((test) => test.name),
      ['alpha: t', 'beta: t'],
    );
  });

  it('refuses two members claiming the same bundle path', () => {
    const clash = member('b', 'beta', 'policies/alpha.rego');
    const members = new Map([a, clash].map((m) => [m.id, m]));
    const manifest = policySetManifest(zone, 'main', ['a', 'b'], members, 10);
    assert.deepEqual(
      problemsOf(() =>
        mergeSetContent(manifest, new Map([...members].map(([id, m]) => [id, m.content]))),
      ),
      ['policy_version_ids: path policies/alpha.rego of policy "beta" is also in policy "alpha"'],
    );
  });
});
