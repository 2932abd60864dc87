import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertReachable, infraSettings } from '@caracal-deploy/testing';

import { OpaCli, OpaCommandError, OpaPolicyError } from './index.js';

const settings = infraSettings();

describe('OpaCli in bundle mode: capabilities, strict eval, opa test', () => {
  const cli = new OpaCli({ bin: settings.opaBin });
  let dir: string;
  let capabilitiesPath: string;

  before(async () => {
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'caracal-opa-bundle-mode-'));
    await mkdir(join(dir, 'src', 'caracal'), { recursive: true });
    await writeFile(
      join(dir, 'src', 'authz.rego'),
      'package caracal.authz\n\nimport rego.v1\n\nlimit := data.caracal.limit\n\nnow := time.now_ns()\n',
    );
    await writeFile(
      join(dir, 'src', 'authz_test.rego'),
      'package caracal.authz_test\n\nimport rego.v1\n\nimport data.caracal.authz\n\ntest_limit if authz.limit == 3\n\ntest_wrong if authz.limit == 4\n',
    );
    await writeFile(join(dir, 'src', 'caracal', 'data.json'), '{"limit": 3}');
    const capabilities = await cli.capabilities();
    assert.ok(capabilities.builtins.some((builtin) => builtin.name === 'time.now_ns'));
    capabilitiesPath = join(dir, 'capabilities.json');
    await writeFile(
      capabilitiesPath,
      JSON.stringify({
        ...capabilities,
        builtins: capabilities.builtins.filter((builtin) => builtin.name !== 'time.now_ns'),
      }),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('check with restricted capabilities names the removed builtin with its column', async () => {
    const diagnostics = await cli.check(['.'], {
      bundle: true,
      strict: true,
      cwd: join(dir, 'src'),
      capabilitiesPath,
    });
    assert.deepEqual(diagnostics, [
      {
        file: 'authz.rego',
        row: 7,
        col: 8,
        message: 'undefined function time.now_ns',
        code: 'rego_type_error',
      },
    ]);
  });

  it('eval --strict with the same capabilities rejects the same policy', async () => {
    await assert.rejects(
      cli.eval('true', { bundlePath: '.', cwd: join(dir, 'src'), strict: true, capabilitiesPath }),
      (error: unknown) =>
        error instanceof OpaPolicyError &&
        error.diagnostics[0]?.message === 'undefined function time.now_ns',
    );
  });

  it('test reports each test with package, location and outcome; data mounted by directory', async () => {
    const results = await cli.test(['.'], { bundle: true, cwd: join(dir, 'src') });
    const byName = Object.fromEntries(results.map((result) => [result.name, result]));
    assert.deepEqual(byName['test_limit'], {
      package: 'caracal.authz_test',
      name: 'test_limit',
      file: 'authz_test.rego',
      row: 7,
      col: 1,
      passed: true,
      message: '',
    });
    assert.equal(byName['test_wrong']?.passed, false);
    assert.equal(byName['test_wrong']?.message, 'failed');
  });

  it('a failed command that ran to completion carries its exit code', async () => {
    await assert.rejects(
      cli.buildWasm('.', ['caracal/authz/missing'], { bundle: true, cwd: join(dir, 'src') }),
      (error: unknown) => error instanceof OpaCommandError && error.exitCode === 1,
    );
  });
});
