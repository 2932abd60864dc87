import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { GetDeploymentResponse } from '@caracal-deploy/sdk';

import { runCli } from './cli.js';
import { ExitCode } from './exit-codes.js';
import { readPolicySource, readStages, windowStart } from './inputs.js';

/** Runs the CLI in process with `env`, capturing its output. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

/** A loopback URL nobody listens on. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const dir = mkdtempSync(join(tmpdir(), 'caracal-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('caracal-deploy bad input', () => {
  it('an unknown subcommand prints the usage and exits 2', async () => {
    const result = await cli(['frobnicate']);
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /unknown command "frobnicate"/);
    assert.match(result.stderr, /usage: caracal-deploy/);
  });

  it('an unknown flag prints the usage and exits 2', async () => {
    const result = await cli(['status', '--zone', 'z1', '--colour'], { CARACAL_ADMIN_TOKEN: 't' });
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /unknown flag --colour/);
    assert.match(result.stderr, /usage: caracal-deploy/);
  });

  it('a missing required flag names it', async () => {
    const result = await cli(['validate', '--zone', 'z1', '--set', 's'], {
      CARACAL_ADMIN_TOKEN: 't',
    });
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /--version is required/);
  });

  it('a missing token names CARACAL_ADMIN_TOKEN and exits 7', async () => {
    const result = await cli(['status', '--zone', 'z1']);
    assert.equal(result.code, ExitCode.authFailed);
    assert.match(result.stderr, /CARACAL_ADMIN_TOKEN/);
  });

  it('an unreachable server is named with its URL and exits 6', async () => {
    const url = await closedUrl();
    const result = await cli(['status', '--zone', 'z1', '--url', url], {
      CARACAL_ADMIN_TOKEN: 't',
    });
    assert.equal(result.code, ExitCode.unreachable);
    assert.match(
      result.stderr,
      new RegExp(`cannot reach the Admin API at ${url.replace(/\./g, '\\.')}`),
    );
    assert.match(result.stderr, /ECONNREFUSED/);
  });

  it('an invalid --stages file names the exact field and exits 2 before any request', async () => {
    const stages = join(dir, 'stages-bad.json');
    writeFileSync(
      stages,
      JSON.stringify([
        { name: 'canary', zones: ['z1'], regions: ['eu'] },
        { name: 'prod', zones: ['z2'], regions: [] },
      ]),
    );
    const result = await cli(
      ['deploy', '--version', 'v1', '--stages', stages, '--url', await closedUrl()],
      {
        CARACAL_ADMIN_TOKEN: 't',
      },
    );
    assert.equal(result.code, ExitCode.usage);
    assert.match(result.stderr, /stages\[1\]\.regions: expected a non-empty array/);
  });

  it('the installed bin exits with the code, not just returns it', async () => {
    const main = fileURLToPath(new URL('./main.js', import.meta.url));
    const code = await new Promise<number | null>((resolve) => {
      execFile(process.execPath, [main, 'nope'], (error) =>
        resolve(error ? (error.code as number) : 0),
      );
    });
    assert.equal(code, ExitCode.usage);
  });
});

describe('stages file', () => {
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  it('accepts an object with stages and zone_versions', () => {
    const file = readStages(
      write('ok.json', {
        stages: [{ name: 'canary', zones: ['z1'], regions: ['eu'], bake_seconds: 30 }],
        zone_versions: [],
      }),
    );
    assert.equal(file.stages[0]?.name, 'canary');
  });

  it('names an unknown field, a bad zone and a bad bake time', () => {
    assert.throws(
      () =>
        readStages(
          write('bad.json', {
            stages: [
              { name: 'canary', zones: ['Z 1'], regions: ['eu'], bake_seconds: -1, bake: 3 },
            ],
          }),
        ),
      (error: Error) =>
        /stages\[0\]\.bake: unknown field/.test(error.message) &&
        /stages\[0\]\.zones\[0\]: expected a lowercase name, saw "Z 1"/.test(error.message) &&
        /stages\[0\]\.bake_seconds/.test(error.message),
    );
  });

  it('refuses a file that is not JSON', () => {
    const path = join(dir, 'not.json');
    writeFileSync(path, '{ nope');
    assert.throws(() => readStages(path), /stages file .* is not JSON/);
  });
});

describe('policy source', () => {
  it('reads a directory of modules and data', () => {
    const root = mkdtempSync(join(dir, 'plain-'));
    writeFileSync(join(root, 'authz.rego'), 'package caracal.authz\n');
    writeFileSync(join(root, 'roles.json'), '{"admins":["a"]}');
    const read = readPolicySource(root);
    assert.equal(read.kind, 'sources');
    assert.deepEqual(read.kind === 'sources' ? read.body : undefined, {
      modules: [{ path: 'authz.rego', source: 'package caracal.authz\n' }],
      data: [{ path: 'roles.json', json: { admins: ['a'] } }],
    });
  });

  it('reads a directory with manifest.json as a pack', () => {
    const root = mkdtempSync(join(dir, 'pack-'));
    writeFileSync(join(root, 'manifest.json'), '{"schema_version":"2026-05-21"}');
    writeFileSync(join(root, 'policy.rego'), 'package caracal.authz\n');
    const read = readPolicySource(root);
    assert.equal(read.kind, 'pack');
    assert.deepEqual(read.kind === 'pack' ? Object.keys(read.body.files) : [], ['policy.rego']);
  });

  it('refuses a directory without Rego', () => {
    const root = mkdtempSync(join(dir, 'empty-'));
    assert.throws(() => readPolicySource(root), /holds no \.rego module/);
  });
});

describe('--window', () => {
  it('reads relative durations and ISO times, and names a bad one', () => {
    const now = new Date('2026-01-01T12:00:00.000Z');
    assert.equal(windowStart('1h', now), '2026-01-01T11:00:00.000Z');
    assert.equal(windowStart('2026-01-01T10:00:00Z', now), '2026-01-01T10:00:00.000Z');
    assert.throws(() => windowStart('yesterday', now), /--window: expected a duration/);
  });
});

describe('deploy --wait', () => {
  const base = (
    state: GetDeploymentResponse['state'],
    verdict: 'pending' | 'fail',
  ): GetDeploymentResponse => ({
    id: 'd1',
    policy_set_version_id: 'v2',
    state,
    terminal: state === 'rolled_back',
    preflight: [
      { check: 'version_validated', zone: 'shop', passed: true, evidence: 'valid', details: {} },
    ],
    stages: [
      {
        name: 'canary',
        regions: ['eu'],
        bake_seconds: 0,
        gates: {
          min_probe_rounds_per_region: 1,
          max_transport_error_ratio: 0,
          max_policy_age_seconds: 30,
          timeout_seconds: 60,
        },
        state: verdict === 'fail' ? 'failed' : 'verifying',
        zones: [
          {
            zone: 'shop',
            policy_set_version_id: 'v2',
            manifest_sha256: 'abc',
            state: verdict === 'fail' ? 'rolled_back' : 'converged',
            previous_policy_set_version_id: 'v1',
            activation_id: 'a1',
            live_replicas: 2,
            serving_replicas: 2,
            rollback_id: null,
            rolled_back_to_policy_set_version_id: verdict === 'fail' ? 'v1' : null,
            detail: '',
          },
        ],
        verdict: {
          state: verdict,
          rows: [{ check: 'canary_decisions', state: verdict, evidence: 'eu', details: {} }],
          started_at: null,
          decided_at: null,
        },
        started_at: null,
        finished_at: null,
      },
    ],
    zone_versions: [],
    accept_no_rollback_zones: [],
    current_stage: 0,
    failure_reason: state === 'rolled_back' ? 'canary verdict failed' : '',
    paused_by: '',
    actor: 'token:ci',
    reason: 'ship',
    idempotency_key: 'k',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    finished_at: null,
  });

  it('follows the watch, prints verdict rows as they change, and exits 5 when rolled back', async () => {
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/v1/deployments') {
          response.writeHead(201, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ deployment: base('running', 'pending'), replayed: false }));
          return;
        }
        if (request.url === '/v1/zones/shop/activations/a1') {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              regions: [
                { region: 'eu', live: 1, serving: 1 },
                { region: 'us', live: 1, serving: 1 },
              ],
            }),
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const event = (
          seq: number,
          kind: string,
          state: GetDeploymentResponse['state'],
          verdict: 'pending' | 'fail',
        ) =>
          `${JSON.stringify({
            type: 'event',
            event: {
              seq,
              kind,
              stage: 'canary',
              zone: null,
              message: '',
              details: {},
              at: `t${seq}`,
            },
            deployment: base(state, verdict),
          })}\n`;
        response.write(event(1, 'stage_verifying', 'running', 'pending'));
        response.end(event(2, 'deployment_ended', 'rolled_back', 'fail'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const stages = join(dir, 'stages-wait.json');
      writeFileSync(stages, JSON.stringify([{ name: 'canary', zones: ['shop'], regions: ['eu'] }]));
      const result = await cli(['deploy', '--version', 'v2', '--stages', stages, '--wait'], {
        CARACAL_ADMIN_URL: `http://127.0.0.1:${port}`,
        CARACAL_ADMIN_TOKEN: 't',
      });
      assert.equal(result.code, ExitCode.verificationFailed, result.stderr);
      assert.match(result.stdout, /zone shop: converged, replicas converged 2\/2/);
      assert.match(result.stdout, /shop per region: eu 1\/1 · us 1\/1/);
      assert.match(result.stdout, /verdict … canary_decisions/);
      assert.match(result.stdout, /verdict ✘ canary_decisions/);
      assert.match(result.stdout, /deployment d1 ended rolled_back: canary verdict failed/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('activate --wait', () => {
  it('prints per-region progress from the watch and exits 5 when the activation stalls', async () => {
    const status = (state: string, serving: number, terminal: boolean) => ({
      type: 'status',
      activation: { id: 'a1', policy_set_version_id: 'v2' },
      state,
      terminal,
      live_replicas: 2,
      serving_replicas: serving,
      regions: [
        { region: 'eu', live: 1, serving: Math.min(serving, 1) },
        { region: 'us', live: 1, serving: 0 },
      ],
    });
    const requests: { method: string; url: string; key: string | undefined }[] = [];
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const key = request.headers['idempotency-key'];
        requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          key: typeof key === 'string' ? key : undefined,
        });
        if (request.method === 'POST') {
          response.writeHead(201, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              activation: { id: 'a1', policy_set_version_id: 'v2' },
              replayed: false,
            }),
          );
          return;
        }
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        response.write(`${JSON.stringify(status('converging', 1, false))}\n`);
        response.end(`${JSON.stringify(status('stalled', 1, true))}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const result = await cli(
        [
          'activate',
          '--zone',
          'shop',
          '--version',
          'v2',
          '--expected-active',
          'v1',
          '--idempotency-key',
          'ci-run-42',
          '--wait',
        ],
        { CARACAL_ADMIN_URL: `http://127.0.0.1:${port}`, CARACAL_ADMIN_TOKEN: 't' },
      );
      assert.equal(result.code, ExitCode.verificationFailed, result.stderr);
      assert.match(result.stdout, /converging: 1\/2 replicas serving; eu 1\/1; us 0\/1/);
      assert.match(result.stdout, /stalled: 1\/2 replicas serving/);
      assert.deepEqual(
        requests.map((r) => [r.method, r.url, r.key]),
        [
          ['POST', '/v1/zones/shop/activations', 'ci-run-42'],
          ['GET', '/v1/zones/shop/activations/a1/watch', undefined],
        ],
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
