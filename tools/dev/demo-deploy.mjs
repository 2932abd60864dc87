// The stack's deployment scenario, driven by the caracal-deploy CLI the way a CI
// pipeline would. Zones demo-eu and demo-us are served by the eu and us STS
// replicas; each region's canary agent probes its zone through its Gateway.
//
//   node tools/dev/demo-deploy.mjs prepare   zones, catalog, expected cases; v1 pushed,
//                                            validated, simulated and activated in both zones
//   node tools/dev/demo-deploy.mjs run       a good change deployed in two stages to green; then a
//                                            bad change that fails verification in stage 1, is
//                                            rolled back automatically, and never reaches stage 2
//
// Environment: CARACAL_ADMIN_URL and CARACAL_ADMIN_TOKEN (an admin token).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const phase = process.argv[2];
const adminUrl = process.env.CARACAL_ADMIN_URL ?? 'http://127.0.0.1:8470';
const token = process.env.CARACAL_ADMIN_TOKEN;
if (!['prepare', 'run'].includes(phase) || !token) {
  console.error('usage: CARACAL_ADMIN_TOKEN=… node tools/dev/demo-deploy.mjs prepare|run');
  process.exit(2);
}
const root = new URL('../../', import.meta.url);
const cli = new URL('apps/cli/dist/main.js', root).pathname;
const demo = new URL('tools/dev/demo/', root).pathname;
const work = new URL('.local/run/demo-deploy/', root).pathname;
mkdirSync(work, { recursive: true });
const regions = { eu: 'demo-eu', us: 'demo-us' };
const started = performance.now();
const stamp = () => `[${String(Math.round(performance.now() - started)).padStart(6)} ms]`;

/**
 * Runs the CLI, echoing its output indented; returns its stdout. Asynchronous on purpose: a
 * blocked event loop keeps fetch's pooled keep-alive sockets from seeing the server close them,
 * and the next request would then be written to a dead socket.
 */
async function caracal(args, { expect = 0 } = {}) {
  console.log(`${stamp()} $ caracal-deploy ${args.join(' ')}`);
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, CARACAL_ADMIN_URL: adminUrl, CARACAL_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const status = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  for (const line of `${stdout}${stderr}`.trimEnd().split('\n')) {
    if (line) console.log(`             ${line}`);
  }
  console.log(`             → exit ${status}`);
  if (status !== expect) {
    throw new Error(`caracal-deploy ${args[0]} exited ${status}, expected ${expect}`);
  }
  return stdout;
}

const idOf = (output, what) => {
  const match = new RegExp(`${what} ([0-9a-f-]{36})`).exec(output);
  if (!match) throw new Error(`no ${what} id in the CLI output`);
  return match[1];
};

/**
 * Calls the Admin API. Every call here is safe to repeat (creations tolerate 409), so a request
 * that never got an answer because its pooled connection had just been closed is sent once more.
 */
async function api(method, path, body, tolerate = []) {
  const send = () =>
    fetch(`${adminUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const response = await send().catch((error) => {
    const code = error.cause?.code;
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return send();
    throw error;
  });
  if (!response.ok && !tolerate.includes(response.status)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  }
  return response.status === 204 ? undefined : response.json();
}

/** A policy input as the Gateway builds it, in `zone`, asking for `scope`. */
const input = (zone, scope) => ({
  schema_version: '2026-05-20',
  principal: { type: 'User', id: 'user-1', zone_id: zone },
  resource: {
    type: 'http',
    id: 'resource://api',
    identifier: 'resource://api',
    scopes: ['read', 'write'],
  },
  action: { id: scope, method: scope === 'read' ? 'GET' : 'POST', path: '/api/orders' },
  context: {
    actor_claims: {},
    subject_claims: { sub: 'user-1', zone_id: zone },
    challenge_resolved: false,
    requested_scopes: [scope],
  },
});

/** Pushes `dir` as the zone's `authz` policy and makes a `main` set version of it. */
async function pushVersion(zone, dir) {
  const policyVersion = idOf(
    await caracal(['policy', 'push', dir, '--zone', zone, '--policy', 'authz']),
    'policy version',
  );
  return idOf(
    await caracal([
      'set',
      'version',
      'create',
      '--zone',
      zone,
      '--set',
      'main',
      '--policy-version',
      policyVersion,
    ]),
    'policy-set version',
  );
}

/** Simulates the zone's demo cases (written by `prepare`) on `version`. */
const simulate = (zone, version) =>
  caracal([
    'simulate',
    '--zone',
    zone,
    '--set',
    'main',
    '--version',
    version,
    '--cases',
    `${work}cases-${zone}.json`,
  ]);

/** Deploys `versions` (per zone) in two stages and waits for the end; `expect` is the exit code. */
const deploy = (versions, name, reason, expect = 0) =>
  caracal(
    [
      'deploy',
      '--version',
      versions['demo-eu'],
      '--zone',
      'demo-eu',
      '--set',
      'main',
      '--stages',
      stagesFile(name, versions['demo-us']),
      '--wait',
      '--reason',
      reason,
    ],
    { expect },
  );

/** A change of `dir` unique to this run (a comment), so every run deploys a new version. */
function stamped(dir, name) {
  const target = `${work}${name}`;
  mkdirSync(target, { recursive: true });
  const source = readFileSync(`${demo}${dir}/authz.rego`, 'utf8');
  writeFileSync(`${target}/authz.rego`, `${source}\n# run ${new Date().toISOString()}\n`);
  return target;
}

function stagesFile(name, usVersion) {
  const gates = { min_probe_rounds_per_region: 2, timeout_seconds: 60 };
  const file = `${work}${name}.json`;
  writeFileSync(
    file,
    JSON.stringify({
      stages: [
        { name: 'canary-eu', zones: ['demo-eu'], regions: ['eu'], bake_seconds: 3, gates },
        { name: 'prod-us', zones: ['demo-us'], regions: ['us'], bake_seconds: 3, gates },
      ],
      zone_versions: [{ zone: 'demo-us', policy_set_version_id: usVersion }],
    }),
  );
  return file;
}

try {
  if (phase === 'prepare') {
    for (const [region, zone] of Object.entries(regions)) {
      console.log(`${stamp()} zone ${zone} (served in region ${region})`);
      await api('POST', '/v1/zones', { name: zone, description: `demo zone in ${region}` }, [409]);
      await api(
        'POST',
        `/v1/zones/${zone}/resources`,
        {
          identifier: 'resource://api',
          id: 'resource://api',
          type: 'http',
          scopes: ['read', 'write'],
          operations: ['GET', 'POST'],
        },
        [409],
      );
      await api('POST', `/v1/zones/${zone}/policy-sets`, { name: 'main' }, [409]);
      // Expected cases run on every new version of the set; deployments require them to pass.
      await api('PUT', `/v1/zones/${zone}/policy-sets/main/expected-cases`, {
        cases: [
          { name: 'writes are denied', input: input(zone, 'write'), expected_decision: 'deny' },
        ],
      });
      const cases = `${work}cases-${zone}.json`;
      writeFileSync(
        cases,
        JSON.stringify([
          { name: 'reads are allowed', input: input(zone, 'read'), expected_decision: 'allow' },
          { name: 'writes are denied', input: input(zone, 'write'), expected_decision: 'deny' },
        ]),
      );
      const binding = await api('GET', `/v1/zones/${zone}/binding`);
      if (binding?.active) {
        console.log(`${stamp()} ${zone} already serves ${binding.active.policy_set_version_id}`);
        continue;
      }
      // What a pull request's CI job runs, with no server: the same validator, offline.
      await caracal(['validate', '--local', `${demo}authz-v1`, '--catalog', `${demo}catalog.json`]);
      const v1 = await pushVersion(zone, `${demo}authz-v1`);
      await caracal(['validate', '--zone', zone, '--set', 'main', '--version', v1]);
      await simulate(zone, v1);
      await caracal([
        'activate',
        '--zone',
        zone,
        '--version',
        v1,
        '--expected-active',
        '',
        '--wait',
        '--idempotency-key',
        `stack-${zone}-v1`,
      ]);
    }
  } else {
    console.log(`${stamp()} a good change: version 2, deployed stage by stage`);
    // One source for both zones: a deployment's zones must pin the same policies.
    const goodSource = stamped('authz-v2', 'v2');
    const good = {};
    for (const zone of Object.values(regions)) {
      good[zone] = await pushVersion(zone, goodSource);
      await simulate(zone, good[zone]);
    }
    await deploy(good, 'stages-good', 'demo: version 2');

    console.log(`${stamp()} a bad change: reads now need a step-up nobody has`);
    const badSource = stamped('authz-bad', 'bad');
    const bad = {};
    for (const zone of Object.values(regions)) bad[zone] = await pushVersion(zone, badSource);
    // Its expected cases pass (writes stay denied): only the canaries' reads can catch it.
    await deploy(bad, 'stages-bad', 'demo: the bad change', 5);

    console.log(`${stamp()} where each zone stands now`);
    for (const zone of Object.values(regions)) await caracal(['status', '--zone', zone]);
    const eu = await api('GET', '/v1/zones/demo-eu/binding');
    const us = await api('GET', '/v1/zones/demo-us/binding');
    const euOk = eu.active.policy_set_version_id === good['demo-eu'];
    const usOk = us.active.policy_set_version_id === good['demo-us'];
    console.log(
      `${stamp()} summary: version 2 went out in two stages and passed verification; the bad change failed stage 1 on canary evidence and demo-eu is back on version 2 (${euOk ? 'yes' : 'NO'}); stage 2 was never touched, demo-us still serves version 2 (${usOk ? 'yes' : 'NO'})`,
    );
    if (!euOk || !usOk) process.exitCode = 1;
  }
} catch (error) {
  const cause = error.cause ? ` (${error.cause.code ?? error.cause.message})` : '';
  console.error(`deployment scenario failed: ${error.message}${cause}`);
  process.exitCode = 1;
}
