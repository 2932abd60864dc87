// Decision benchmark (npm run bench:decide): the STS's decision path over HTTP
// (`POST /v1/decide`: the same checks, evaluation and audit as gRPC
// StsService.Decide, with both Kafka records per decision going to the real
// Kafka) against stock `opa run --server` serving the same signed bundle
// (`POST /v1/data/caracal/authz/result`), on the same realistic inputs, driven by
// the same keep-alive load generator (tools/bench/lib/http-load.mjs, its own
// process) at the same concurrency, in the same run.
//
//   node tools/bench/decide/decide-bench.mjs [--concurrency 16] [--duration-ms 15000]
//     [--rounds 3] [--warmup-ms 1000] [--inputs 2000]
//
// The three servers run at once and are loaded in turn, `--rounds` times each
// (--duration-ms is the measured time per server, split over the rounds); each
// one's throughput and percentiles pool its rounds' recorded latencies.
//
// OPA gets two chances and the faster counts: the signed wasm bundle the STS
// serves, and a signed plain-Rego bundle of the same sources and data (OPA's
// own topdown engine). A configuration that fails requests under the load
// (OPA's wasm engine has answered some with 500 "failed to parse wasm result"
// here) is reported but not taken as the peer while another answers them all. OPA writes no decision logs (its default); the STS
// writes its audit event and decision log for every decision. Sampled answers
// of both are compared: any different result is a mismatch.
// Last line: sts_decisions_per_s=<n> opa_decisions_per_s=<n> ratio=<sts/opa> sts_p99_ms=<n> opa_p99_ms=<n>
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { runHttpLoad, summarise } from '../lib/http-load.mjs';
import {
  benchZone,
  buildRealisticBundles,
  opaBin,
  realisticInputs,
  root,
  startStsBoundaries,
} from '../lib/sts-bench-stack.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1] : fallback;
};
const concurrency = Number(option('concurrency', '16'));
const durationMs = Number(option('duration-ms', '15000'));
const warmupMs = Number(option('warmup-ms', '1000'));
const inputCount = Number(option('inputs', '2000'));
const rounds = Number(option('rounds', '3'));
const sampled = 400;
const log = (...line) => console.log(...line);
const ms = (value) => value.toFixed(2);

/** Starts `command`, resolves once `ready(output)` returns a value (or rejects when it exits first). */
function startProcess(command, argv, env, ready, timeoutMs = 60_000) {
  const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} not ready within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const value = ready(output);
      if (value !== undefined) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        child.stderr.resume();
        resolve({ child, value });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`${command} exited with ${code} before it was ready:\n${output.slice(-2000)}`),
      );
    });
  });
}

/** Stops a child with SIGTERM and waits for it to exit. */
async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntil(check, description, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      // Refused connections mean "not up yet"; anything else ends the wait.
      if (!(error instanceof TypeError)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const describeRun = (name, run) =>
  `${name}: ${run.requests} decisions in ${run.seconds.toFixed(2)} s = ${Math.round(run.perSecond)}/s, ` +
  `p50 ${ms(run.latencyMs.p50)} ms, p99 ${ms(run.latencyMs.p99)} ms, max ${ms(run.latencyMs.max)} ms, ` +
  `errors ${run.errors}${run.errors ? ` (${run.errorSamples.join('; ')})` : ''}`;

const dir = await mkdtemp(join(tmpdir(), 'decide-bench-'));
let boundaries;
const children = [];
try {
  const bundles = await buildRealisticBundles(dir);
  const inputs = realisticInputs(inputCount);
  const load = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    concurrency,
    warmupMs,
    durationMs: Math.round(durationMs / rounds),
    keepLatencies: true,
  };
  // The answers to compare: the first inputs, asked one by one.
  const answers = async (url, body) => {
    const results = [];
    for (const input of inputs.slice(0, sampled)) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(input),
      });
      results.push(await response.json());
    }
    return results;
  };
  log(
    `realistic policy, ${inputs.length} distinct inputs, concurrency ${concurrency}, ` +
      `${durationMs} ms measured per server in ${rounds} alternating rounds (warm-up ${warmupMs} ms each)`,
  );

  // The STS: one replica process, audit events and decision logs into the real Kafka.
  boundaries = await startStsBoundaries(dir, bundles);
  const sts = await startProcess(
    process.execPath,
    [join(root, 'apps/sts/dist/main.js')],
    { ...process.env, ...boundaries.env('sts-decide-bench'), NO_COLOR: '1' },
    (output) => {
      const http = /token endpoint on port (\d+)/.exec(output)?.[1];
      const metrics = /serving \/metrics on port (\d+)/.exec(output)?.[1];
      return http && metrics ? { http, metrics } : undefined;
    },
  );
  children.push(sts.child);
  const stsUrl = `http://127.0.0.1:${sts.value.http}/v1/decide`;
  // The STS's audit sends of a round finish before the next server's round starts.
  const auditDrained = async () =>
    /^caracal_sts_audit_buffered(\{[^}]*\})? 0$/m.test(
      await (await fetch(`http://127.0.0.1:${sts.value.metrics}/metrics`)).text(),
    );
  const servers = [
    {
      name: 'sts POST /v1/decide (with audit to Kafka)',
      url: stsUrl,
      settle: () => waitUntil(auditDrained, 'the STS audit buffer to drain'),
      body: (input) => JSON.stringify({ zone_id: benchZone, input }),
    },
  ];

  // Stock OPA: the same signed bundle, and a Rego bundle of the same sources.
  for (const [name, bundlePath] of [
    ['opa run --server, the same signed wasm bundle', bundles.wasm.path],
    ['opa run --server, signed Rego bundle of the same sources (topdown)', bundles.regoPath],
  ]) {
    const port = await freePort();
    const opa = spawn(
      opaBin,
      [
        'run',
        '--server',
        '--addr',
        `127.0.0.1:${port}`,
        '--log-level',
        'error',
        '--skip-version-check',
        '--verification-key',
        bundles.publicKeyPath,
        '--signing-alg',
        'ES256',
        '--verification-key-id',
        bundles.keyId,
        '--bundle',
        bundlePath,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(opa);
    await waitUntil(async () => {
      if (opa.exitCode !== null) throw new Error(`${name} exited with ${opa.exitCode}`);
      return (await fetch(`http://127.0.0.1:${port}/health?bundles`)).ok;
    }, `${name} to be healthy`);
    servers.push({
      name,
      url: `http://127.0.0.1:${port}/v1/data/caracal/authz/result`,
      body: (input) => JSON.stringify({ input }),
    });
  }

  // All three serve at once; the load visits them in turn, round after round,
  // so a change in what else runs on the machine hits each of them alike.
  for (const server of servers) {
    server.bodies = inputs.map(server.body);
    server.latencies = [];
    server.seconds = 0;
    server.errors = 0;
    server.errorSamples = [];
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const server of servers) {
      const run = await runHttpLoad({ ...load, url: server.url, bodies: server.bodies });
      server.latencies.push(...run.latencies);
      server.seconds += run.seconds;
      server.errors += run.errors;
      server.errorSamples.push(...run.errorSamples);
      await server.settle?.();
    }
  }
  const results = [];
  for (const server of servers) {
    const run = {
      ...summarise(server.latencies, server.seconds),
      errors: server.errors,
      errorSamples: server.errorSamples.slice(0, 3),
    };
    log(describeRun(server.name, run));
    results.push({ name: server.name, run, answers: await answers(server.url, server.body) });
  }
  const [stsResult, ...opaRuns] = results;
  const stsRun = stsResult.run;
  const stsAnswers = stsResult.answers;
  // The faster OPA configuration that answered every request; a configuration
  // that failed requests is reported above but is no peer to compare with.
  const answering = opaRuns.filter((r) => r.run.errors === 0);
  const peer = (answering.length > 0 ? answering : opaRuns).reduce((a, b) =>
    b.run.perSecond > a.run.perSecond ? b : a,
  );

  // Same inputs, same answers: every sampled STS result must equal OPA's, on the served revision.
  let mismatches = 0;
  for (const { answers: theirs } of opaRuns) {
    stsAnswers.forEach((ours, i) => {
      if (ours.revision !== bundles.revision || !isDeepStrictEqual(ours.result, theirs[i].result)) {
        mismatches += 1;
      }
    });
  }
  const compared = stsAnswers.length * opaRuns.length;
  log(`peer: ${peer.name}; ${compared} sampled answers compared, ${mismatches} mismatches`);
  if (stsRun.errors > 0 || peer.run.errors > 0 || mismatches > 0) process.exitCode = 1;
  log(
    `sts_decisions_per_s=${Math.round(stsRun.perSecond)} opa_decisions_per_s=${Math.round(peer.run.perSecond)} ` +
      `ratio=${(stsRun.perSecond / peer.run.perSecond).toFixed(2)} sts_p99_ms=${ms(stsRun.latencyMs.p99)} ` +
      `opa_p99_ms=${ms(peer.run.latencyMs.p99)}`,
  );
} finally {
  for (const child of children) await stopProcess(child);
  await boundaries?.close();
  await rm(dir, { recursive: true, force: true });
}
