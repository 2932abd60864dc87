import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { infraSettings } from '@caracal-deploy/testing';

import { ExitCode } from './exit-codes.js';
import { baselineRego, stsInput, writePack } from './support/admin-stack.test-support.js';
import { explain, runBin } from './support/bin.test-support.js';

/** Runs the real bin with no Admin API anywhere: `--local` needs only the validator and OPA. */
const cli = (args: string[]) =>
  runBin(
    args,
    {
      CARACAL_OPA_BIN: infraSettings().opaBin,
      CARACAL_ADMIN_URL: 'http://127.0.0.1:1',
      CARACAL_ADMIN_TOKEN: '',
    },
    120_000,
  );

describe('caracal-deploy validate/simulate --local (no server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'caracal-cli-local-'));
  const policy = join(work, 'policy');
  const catalog = join(work, 'catalog.json');
  const cases = join(work, 'cases.json');

  before(async () => {
    mkdirSync(policy);
    writeFileSync(join(policy, 'authz.rego'), baselineRego('authz'));
    writeFileSync(
      catalog,
      JSON.stringify([
        {
          identifier: 'resource://api',
          id: 'resource-1',
          scopes: ['read', 'write'],
          operations: ['read'],
        },
      ]),
    );
    const input = await stsInput('local');
    writeFileSync(
      cases,
      JSON.stringify({
        cases: [
          { name: 'reader', input, expected_decision: 'allow' },
          { name: 'wrongly-denied', input, expected_decision: 'deny' },
        ],
      }),
    );
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('validate --local passes a valid directory against its catalog', async () => {
    const run = await cli(['validate', '--local', policy, '--catalog', catalog]);
    assert.equal(run.code, ExitCode.ok, explain(run));
    assert.match(run.stdout, /: valid \(local, OPA /);
  });

  it('validate --local exits 3 with the findings when the catalog lacks the resource', async () => {
    const run = await cli(['validate', '--local', policy, '--json']);
    assert.equal(run.code, ExitCode.validationFailed, explain(run));
    const answer = JSON.parse(run.stdout) as {
      valid: boolean;
      findings: { code: string; location: { file: string } }[];
    };
    assert.equal(answer.valid, false);
    assert.ok(
      answer.findings.some(
        (f) => f.code === 'unknown_resource' && f.location.file === 'authz.rego',
      ),
      run.stdout,
    );
  });

  it('simulate --local evaluates the cases on a locally built bundle and exits 4 on a failed case', async () => {
    const run = await cli(['simulate', '--local', policy, '--cases', cases, '--catalog', catalog]);
    assert.equal(run.code, ExitCode.gateFailed, explain(run));
    assert.match(run.stdout, /pass {2}reader: expected allow, got allow/);
    assert.match(run.stdout, /FAIL {2}wrongly-denied: expected deny, got allow/);
  });

  it('validate --local reads a policy pack directory and runs its tests', async () => {
    const pack = join(work, 'pack');
    await writePack(pack, {
      id: 'cli-local',
      name: 'CLI local pack',
      zone: 'local',
      test: 'denies the reader',
      expectedDecision: 'deny',
    });
    const run = await cli(['validate', '--local', pack, '--catalog', catalog]);
    assert.equal(run.code, ExitCode.validationFailed, explain(run));
    assert.match(run.stdout, /test FAIL denies the reader/);
  });

  it('--local without a path is a usage error', async () => {
    const run = await cli(['validate', '--local']);
    assert.equal(run.code, ExitCode.usage, explain(run));
    assert.match(run.stderr, /--local needs a policy directory or pack/);
  });
});
