import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { FailedPreconditionError, InvalidArgumentError } from '@caracal-deploy/errors';

import { OpaCli, OpaCommandError, parseJsonDiagnostics, parseTextDiagnostics } from './index.js';

describe('OpaCli without a binary', () => {
  it('says where it looked and how to install opa', async () => {
    const cli = new OpaCli({ bin: '/nonexistent/caracal/bin/opa' });
    await assert.rejects(cli.version(), (error: unknown) => {
      assert.ok(error instanceof FailedPreconditionError);
      assert.equal(
        error.message,
        'OPA CLI not found or not executable at /nonexistent/caracal/bin/opa (ENOENT). ' +
          'Run `npm run infra -- up` to install it, or set CARACAL_OPA_BIN to an opa binary.',
      );
      return true;
    });
  });

  it('rejects empty path and entrypoint lists before running anything', async () => {
    const cli = new OpaCli({ bin: '/nonexistent/caracal/bin/opa' });
    await assert.rejects(cli.check([]), InvalidArgumentError);
    await assert.rejects(cli.buildWasm('/tmp', []), InvalidArgumentError);
  });
});

describe('OPA diagnostics', () => {
  it('reads `--format json` errors with location', () => {
    const text = JSON.stringify({
      errors: [
        {
          message: 'var x is unsafe',
          code: 'rego_unsafe_var_error',
          location: { file: 'p/a.rego', row: 7, col: 3 },
        },
        { message: 'no location' },
      ],
    });
    assert.deepEqual(parseJsonDiagnostics(text), [
      {
        file: 'p/a.rego',
        row: 7,
        col: 3,
        message: 'var x is unsafe',
        code: 'rego_unsafe_var_error',
      },
      { file: '', row: 0, col: 0, message: 'no location', code: 'opa_error' },
    ]);
    assert.equal(parseJsonDiagnostics('Error: something else'), undefined);
    assert.equal(parseJsonDiagnostics('{"result": []}'), undefined);
  });

  it('reads `opa build` text errors and skips the source excerpts', () => {
    const text = [
      'error: load error: 1 error occurred during loading:',
      'bad/broken.rego:8: rego_parse_error: unexpected eof token',
      '\ty := input.a[',
      '\t            ^',
    ].join('\n');
    assert.deepEqual(parseTextDiagnostics(text), [
      {
        file: 'bad/broken.rego',
        row: 8,
        col: 0,
        message: 'unexpected eof token',
        code: 'rego_parse_error',
      },
    ]);
  });
});

describe('OpaCli failures of the binary', () => {
  // Stand-in binaries that fail the way opa does; the real one is covered by opa.int.spec.ts.
  let dir: string;
  const fakeOpa = async (name: string, script: string): Promise<OpaCli> => {
    const bin = join(dir, name);
    await writeFile(bin, `#!/bin/sh\n${script}\n`);
    await chmod(bin, 0o755);
    return new OpaCli({ bin });
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caracal-fake-opa-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('explains that a binary without the wasm engine cannot eval a wasm bundle', async () => {
    const cli = await fakeOpa(
      'no-wasm-opa',
      `echo '{"errors":[{"message":"failed to initialize wasm module for entrypoints: engine not found"}]}'; exit 2`,
    );
    await assert.rejects(
      cli.eval('data.x', { bundlePath: '/b.tar.gz', input: {} }),
      (error: unknown) => {
        assert.ok(error instanceof FailedPreconditionError);
        assert.match(
          error.message,
          /built without OPA's wasm engine.*\/b\.tar\.gz.*go install -tags opa_wasm/,
        );
        return true;
      },
    );
  });

  it('reports an unexplained failure with its exit code and stderr', async () => {
    const cli = await fakeOpa('crashing-opa', 'echo "panic: boom" >&2; exit 3');
    await assert.rejects(cli.version(), (error: unknown) => {
      assert.ok(error instanceof OpaCommandError);
      assert.equal(error.message, 'opa version exited with 3: panic: boom');
      assert.deepEqual(error.args, ['version']);
      return true;
    });
  });
});
