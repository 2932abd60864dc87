import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { workspaceRoot } from '@caracal-deploy/config';

const run = promisify(execFile);
const prometheusDir = join(workspaceRoot(import.meta.url), 'deploy/prometheus');

// promtool comes with Debian's prometheus package, which tools/infra installs.
describe('deploy/prometheus alert rules', () => {
  it('pass promtool check (syntax, expressions, templates)', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'rules/caracal.rules.yml'], {
      cwd: prometheusDir,
    });
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  it('fire and stay quiet exactly as the unit tests in deploy/prometheus/tests expect', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', 'tests/caracal.rules.test.yml'], {
      cwd: prometheusDir,
    });
    assert.match(stdout, /SUCCESS/);
  });
});
