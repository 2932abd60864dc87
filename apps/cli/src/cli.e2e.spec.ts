import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  AdminClient,
  ConflictError,
  NotFoundError,
  UnauthorizedError,
  ValidationFailedError,
} from '@caracal-deploy/sdk';
import { uniqueName } from '@caracal-deploy/testing';

import { ExitCode } from './exit-codes.js';
import {
  type AdminStack,
  baselineRego,
  startAdminStack,
  stsInput,
  writePack,
} from './support/admin-stack.test-support.js';
import { explain, runBin, type Run } from './support/bin.test-support.js';

/**
 * The main flows of `caracal-deploy` as a CI pipeline runs them: the real bin
 * against the real Admin API, policy-validator (real OPA), activation
 * coordinator and PostgreSQL.
 */
describe('caracal-deploy against the real Admin API', () => {
  const zone = uniqueName('cli')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  const work = mkdtempSync(join(tmpdir(), 'caracal-cli-e2e-'));
  let stack: AdminStack;
  let policyVersionId = '';
  let setVersionId = '';

  const cli = (args: string[]) =>
    runBin(args, { CARACAL_ADMIN_URL: stack.url, CARACAL_ADMIN_TOKEN: stack.adminToken }, 180_000);
  /** `set version create` in the test zone's set `main` from `policyVersionIds`. */
  const createSetVersion = (...policyVersionIds: string[]) => [
    'set',
    'version',
    'create',
    '--zone',
    zone,
    '--set',
    'main',
    ...policyVersionIds.flatMap((id) => ['--policy-version', id]),
  ];
  const json = <T>(run: Run): T => {
    assert.equal(run.code, 0, explain(run));
    return JSON.parse(run.stdout) as T;
  };

  before(async () => {
    stack = await startAdminStack();
    const admin = new AdminClient({ baseUrl: stack.url, token: stack.adminToken });
    await admin.zones.create({ name: zone });
    await admin.resources.create(zone, {
      identifier: 'resource://api',
      id: 'resource-1',
      type: 'http',
      scopes: ['read', 'write'],
      operations: ['read'],
    });
  });
  after(async () => {
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('policy push uploads a directory of Rego as a validated version', async () => {
    const dir = join(work, 'authz');
    mkdirSync(dir);
    writeFileSync(join(dir, 'authz.rego'), baselineRego('authz'));
    const pushed = json<{ created: boolean; version: { id: string; verdict: { valid: boolean } } }>(
      await cli(['policy', 'push', dir, '--zone', zone, '--policy', 'authz', '--json']),
    );
    assert.equal(pushed.created, true);
    assert.equal(pushed.version.verdict.valid, true);
    policyVersionId = pushed.version.id;

    const again = await cli(['policy', 'push', dir, '--zone', zone, '--policy', 'authz']);
    assert.equal(again.code, 0, explain(again));
    assert.match(again.stdout, new RegExp(`unchanged .*${policyVersionId}`));
  });

  it('policy push uploads a pack directory (manifest.json + files) and the server runs its tests', async () => {
    const pack = join(work, 'pack');
    await writePack(pack, {
      id: 'cli-e2e',
      name: 'CLI e2e pack',
      zone,
      test: 'allows the reader',
      expectedDecision: 'allow',
    });
    const pushed = json<{
      version: {
        source_format: string;
        verdict: { valid: boolean; tests: { name: string; passed: boolean }[] };
      };
    }>(await cli(['policy', 'push', pack, '--zone', zone, '--policy', 'packed', '--json']));
    assert.equal(pushed.version.source_format, 'pack');
    assert.equal(pushed.version.verdict.valid, true);
    assert.ok(
      pushed.version.verdict.tests.some((t) => t.name === 'allows the reader' && t.passed),
      JSON.stringify(pushed.version.verdict.tests),
    );
  });

  it('set version create makes a validated policy-set version', async () => {
    const created = json<{ version: { id: string; verdict: { valid: boolean } } }>(
      await cli([...createSetVersion(policyVersionId), '--json']),
    );
    assert.equal(created.version.verdict.valid, true);
    setVersionId = created.version.id;
  });

  it('validate reports the verdict and exits 0 for a valid version', async () => {
    const run = await cli(['validate', '--zone', zone, '--set', 'main', '--version', setVersionId]);
    assert.equal(run.code, ExitCode.ok, explain(run));
    assert.match(run.stdout, new RegExp(`${setVersionId}: valid`));
  });

  it('simulate exits 0 when every case passes and 4 when one fails', async () => {
    const simulate = (cases: string) =>
      cli([
        'simulate',
        '--zone',
        zone,
        '--set',
        'main',
        '--version',
        setVersionId,
        '--cases',
        cases,
      ]);
    const input = await stsInput(zone);
    const passing = join(work, 'cases-pass.json');
    writeFileSync(
      passing,
      JSON.stringify({ cases: [{ name: 'reader', input, expected_decision: 'allow' }] }),
    );
    const ok = await simulate(passing);
    assert.equal(ok.code, ExitCode.ok, explain(ok));
    assert.match(ok.stdout, /pass {2}reader: expected allow, got allow/);

    const failing = join(work, 'cases-fail.json');
    writeFileSync(
      failing,
      JSON.stringify([{ name: 'wrongly-denied', input, expected_decision: 'deny' }]),
    );
    const bad = await simulate(failing);
    assert.equal(bad.code, ExitCode.gateFailed, explain(bad));
    assert.match(bad.stdout, /FAIL {2}wrongly-denied: expected deny, got allow/);
  });

  it('replay streams progress and exits 4 when the zone recorded nothing (no_data is never a pass)', async () => {
    const run = await cli([
      'replay',
      '--zone',
      zone,
      '--set',
      'main',
      '--version',
      setVersionId,
      '--window',
      '10m',
      '--max-samples',
      '50',
    ]);
    assert.equal(run.code, ExitCode.gateFailed, explain(run));
    assert.match(run.stdout, /replay NO_DATA: 0 evaluated/);
  });

  it('activate, status and history show the zone serving the version', async () => {
    const activated = json<{ activation: { id: string } }>(
      await cli([
        'activate',
        '--zone',
        zone,
        '--version',
        setVersionId,
        '--expected-active',
        '',
        '--json',
      ]),
    );
    const activationId = activated.activation.id;

    const binding = json<{ active: { policy_set_version_id: string } | null }>(
      await cli(['status', '--zone', zone, '--json']),
    );
    assert.equal(binding.active?.policy_set_version_id, setVersionId);

    const status = await cli(['status', '--zone', zone, '--activation', activationId]);
    assert.equal(status.code, 0, explain(status));
    assert.match(status.stdout, new RegExp(`activation ${activationId}: \\w+`));

    const history = json<{
      items: { activation: { id: string; policy_set_version_id: string } }[];
    }>(await cli(['history', '--zone', zone, '--json']));
    assert.deepEqual(
      history.items.map((item) => [item.activation.id, item.activation.policy_set_version_id]),
      [[activationId, setVersionId]],
    );
    const human = await cli(['history', '--zone', zone]);
    assert.match(human.stdout, new RegExp(`manual +${setVersionId}`));

    const stale = await cli([
      'activate',
      '--zone',
      zone,
      '--version',
      setVersionId,
      '--expected-active',
      '',
    ]);
    assert.equal(stale.code, ExitCode.refused, explain(stale));
    assert.match(stale.stderr, /ConflictError \(409\)/);
  });

  it('an invalid policy-set version exits 3 with the diagnostics, and deploying it exits 3', async () => {
    // Two copies of the same package each define `default allow`: valid alone, invalid merged.
    const dir = join(work, 'other');
    mkdirSync(dir);
    writeFileSync(join(dir, 'other.rego'), baselineRego('other'));
    const other = json<{ version: { id: string } }>(
      await cli(['policy', 'push', dir, '--zone', zone, '--policy', 'other', '--json']),
    );
    const create = createSetVersion(policyVersionId, other.version.id);
    const merged = await cli(create);
    assert.equal(merged.code, ExitCode.validationFailed, explain(merged));
    assert.match(merged.stderr, /validation failed: .*invalid/);
    assert.match(merged.stderr, /\n {2}error \S+/);
    const invalidId = /policy-set version ([0-9a-f-]{36})/.exec(merged.stderr)?.[1];
    assert.ok(invalidId, explain(merged));

    const machine = await cli([...create, '--json']);
    assert.equal(machine.code, ExitCode.validationFailed, explain(machine));
    const failure = JSON.parse(machine.stdout) as {
      error: {
        exit_code: number;
        details: Record<string, string>;
        findings: { severity: string }[];
      };
    };
    assert.equal(failure.error.exit_code, ExitCode.validationFailed);
    assert.equal(failure.error.details['policy_set_version_id'], invalidId);
    assert.ok(
      failure.error.findings.some((f) => f.severity === 'error'),
      machine.stdout,
    );

    const stages = join(work, 'stages.json');
    writeFileSync(stages, JSON.stringify([{ name: 'canary', zones: [zone], regions: ['eu'] }]));
    const checked = await cli([
      'deploy',
      '--version',
      invalidId,
      '--stages',
      stages,
      '--zone',
      zone,
      '--set',
      'main',
    ]);
    assert.equal(checked.code, ExitCode.validationFailed, explain(checked));
    assert.match(checked.stderr, /is not valid; nothing was deployed\n {2}error /);

    const preflight = await cli(['deploy', '--version', invalidId, '--stages', stages]);
    assert.equal(preflight.code, ExitCode.validationFailed, explain(preflight));
    assert.match(preflight.stderr, /version_validated/);
  });

  it('deploy to a zone the registry does not have names the exact field', async () => {
    const stages = join(work, 'stages-unknown.json');
    writeFileSync(
      stages,
      JSON.stringify([
        { name: 'canary', zones: [zone], regions: ['eu'] },
        { name: 'prod', zones: ['no-such-zone-here'], regions: ['us'] },
      ]),
    );
    const run = await cli(['deploy', '--version', setVersionId, '--stages', stages]);
    assert.equal(run.code, ExitCode.refused, explain(run));
    assert.match(run.stderr, /stages\[1\]\.zones\[0\]/);
  });

  it("the SDK maps the real server's answers to typed errors", async () => {
    const sdk = new AdminClient({ baseUrl: stack.url, token: stack.adminToken });
    await assert.rejects(sdk.zones.get('no-such-zone-here'), NotFoundError);
    const stale = await sdk.activations
      .activate(zone, {
        policy_set_version_id: setVersionId,
        expected_active_version_id: '',
        reason: 'sdk',
      })
      .catch((error: unknown) => error);
    assert.ok(stale instanceof ConflictError, String(stale));
    assert.equal(stale.currentActiveVersionId, setVersionId);
    const invalid = await sdk.policies
      .createVersion(zone, 'broken', {
        modules: [{ path: 'broken.rego', source: 'package caracal.authz\n\nresult := {' }],
      })
      .catch((error: unknown) => error);
    assert.ok(
      invalid instanceof NotFoundError,
      `a version of an unknown policy: ${String(invalid)}`,
    );
    await sdk.policies.create(zone, { name: 'broken' });
    const findings = await sdk.policies
      .createVersion(zone, 'broken', {
        modules: [{ path: 'broken.rego', source: 'package caracal.authz\n\nresult := {' }],
      })
      .catch((error: unknown) => error);
    assert.ok(findings instanceof ValidationFailedError, String(findings));
    assert.ok(
      findings.findings.some((f) => f.severity === 'error'),
      JSON.stringify(findings.findings),
    );
    const forbidden = await new AdminClient({ baseUrl: stack.url, token: 'cdt_unknown' }).zones
      .list()
      .catch((error: unknown) => error);
    assert.ok(forbidden instanceof UnauthorizedError, String(forbidden));
  });

  it('a token the server does not know exits 7', async () => {
    const run = await cli(['status', '--zone', zone, '--token', 'cdt_not-a-real-token']);
    assert.equal(run.code, ExitCode.authFailed, explain(run));
    assert.match(run.stderr, /401/);
  });
});
