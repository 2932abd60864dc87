import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { writeEs256Key } from '@caracal-deploy/stand-ins';
import { freePort } from '@caracal-deploy/testing';

const main = new URL('./main.js', import.meta.url).pathname;

/** Runs the built agent with `env` until it exits; resolves with its exit code and output. */
function run(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A boot that hangs instead of exiting fails the test rather than the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('canary-agent process: refuses to start on bad settings and files, naming them', () => {
  let dir: string;
  let keyFile: string;
  let metricsPort: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'canary-main-'));
    keyFile = await writeEs256Key(dir, 'subject.pem');
    metricsPort = String(await freePort());
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names the bad key of the configuration', async () => {
    const { code, output } = await run({ CARACAL_CANARY_CONCURRENCY: '0' });
    assert.equal(code, 1);
    assert.match(output, /CARACAL_CANARY_CONCURRENCY: /);
  });

  it('names the missing subject key file', async () => {
    const { code, output } = await run({
      CARACAL_CANARY_SUBJECT_KEY_FILE: join(dir, 'missing.pem'),
      CARACAL_CANARY_METRICS_PORT: metricsPort,
    });
    assert.equal(code, 1);
    assert.match(output, /CARACAL_CANARY_SUBJECT_KEY_FILE: .*missing\.pem is not readable/);
  });

  it('names the file and the field of a bad static probe', async () => {
    const probes = join(dir, 'probes.json');
    await writeFile(
      probes,
      JSON.stringify({
        probes: [
          {
            id: 'p1',
            subject_claims: { sub: 'canary' },
            resource: 'resource://orders',
            scopes: ['read'],
            method: 'GET',
            path: '/orders',
            expected_decision: 'permit',
          },
        ],
      }),
    );
    const { code, output } = await run({
      CARACAL_CANARY_SUBJECT_KEY_FILE: keyFile,
      CARACAL_CANARY_PROBES_FILE: probes,
      CARACAL_CANARY_METRICS_PORT: metricsPort,
    });
    assert.equal(code, 1);
    assert.match(
      output,
      /CARACAL_CANARY_PROBES_FILE: .*probes\.json: .*probes\[0\]\.expected_decision/,
    );
  });
});
