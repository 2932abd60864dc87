// Replay benchmark (npm run bench:replay): replays N recorded decisions of a
// realistic policy set from Kafka against a candidate bundle, and measures stock
// OPA evaluating the same inputs with the same bundle, in the same run.
//
//   node tools/bench/replay/replay-bench.mjs [--decisions N] [--peer-sample N] [--workers 1,2]
//
// The corpus is written once to a Kafka topic named after what produced it and
// reused by later runs. The peer is stock OPA's fastest batch mode here:
// `opa exec` over a directory of input files (measured faster than
// `opa run --server` over keep-alive HTTP, which spends most of its time in
// HTTP and JSON per request). OPA evaluates a few thousand decisions a second,
// so it runs on a sample of the corpus (--peer-sample); its rate is what the
// ratio compares. Every sampled decision OPA returned is compared with the
// replay engine's own evaluation (opa-wasm on the same candidate bundle
// bytes): any difference is a mismatch.
// Last line: replay_decisions_per_s=<n> opa_decisions_per_s=<n> ratio=<ours/opa> peak_rss_mb=<n> mismatches=<n>
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createKafka } from '@caracal-deploy/kafka';
import { OpaCli, loadWasmPolicy, readBundle } from '@caracal-deploy/opa';

import { benchData, benchInputs } from './decisions.mjs';

const here = new URL('.', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1] : fallback;
};
const decisions = Number(option('decisions', '1000000'));
const peerSample = Math.min(decisions, Number(option('peer-sample', '30000')));
const workerCounts = option('workers', '1,2').split(',').map(Number);
const opaBin = process.env.CARACAL_OPA_BIN ?? join(root, '.local/bin/opa');
const brokers = (process.env.CARACAL_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const log = (...line) => console.log(...line);

const dir = await mkdtemp(join(tmpdir(), 'replay-bench-'));
try {
  // Live policy and candidate: the candidate tightens delegation depth 3 → 2 and
  // adds `read` to the step-up scopes, a realistic change with a visible impact.
  const opa = new OpaCli({ bin: opaBin });
  const build = async (name, data) => {
    const src = join(dir, name);
    execFileSync('mkdir', ['-p', src]);
    await writeFile(
      join(src, 'authz.rego'),
      await readFile(join(root, 'apps/policy-validator/fixtures/realistic/authz.rego')),
    );
    await writeFile(join(src, 'data.json'), JSON.stringify(data));
    const bundle = await opa.buildWasm(src, ['caracal/authz/result']);
    await writeFile(join(dir, `${name}.tar.gz`), bundle);
    return bundle;
  };
  const liveData = benchData();
  const candidateData = structuredClone(liveData);
  candidateData.caracal.limits.max_delegation_depth = 2;
  candidateData.caracal.step_up_scopes = ['read', 'write', 'admin'];
  const live = await build('live', liveData);
  const candidate = await build('candidate', candidateData);
  const load = async (bytes) => {
    const bundle = readBundle(bytes);
    return loadWasmPolicy(bundle.wasm, bundle.data);
  };

  // The corpus: recorded decisions made by the live policy, written once.
  const kafka = createKafka({ brokers, clientId: 'replay-bench-setup' });
  // The topic name carries a fingerprint of what produced the corpus, so a change
  // to the policy, its data or the generator never reuses stale recorded results.
  const fingerprint = createHash('sha256')
    .update(await readFile(join(root, 'apps/policy-validator/fixtures/realistic/authz.rego')))
    .update(await readFile(join(here, 'decisions.mjs')))
    .digest('hex')
    .slice(0, 12);
  const topic = `caracal.bench.decision-logs.${fingerprint}.${decisions}`;
  const admin = kafka.admin();
  await admin.connect();
  const existing = (await admin.listTopics()).includes(topic)
    ? (await admin.fetchTopicOffsets(topic)).reduce(
        (sum, p) => sum + Number(p.high) - Number(p.low),
        0,
      )
    : -1;
  if (existing !== decisions) {
    if (existing >= 0) await admin.deleteTopics({ topics: [topic] });
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
    log(`writing ${decisions} recorded decisions to ${topic} (once; later runs reuse it)`);
    const livePolicy = await load(live);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    let batch = [];
    let i = 0;
    for (const input of benchInputs(decisions)) {
      batch.push({
        key: 'zone-1',
        value: JSON.stringify({
          decision_id: `dec-${i}`,
          zone_id: 'zone-1',
          revision: 'live',
          timestamp: 1_780_000_000_000 + i,
          input,
          result: livePolicy.evaluate(input, 'caracal/authz/result'),
        }),
      });
      i += 1;
      if (batch.length === 500) {
        await producer.send({ topic, acks: -1, messages: batch });
        batch = [];
      }
    }
    if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
    await producer.disconnect();
  } else {
    log(`reusing ${decisions} recorded decisions in ${topic}`);
  }
  await admin.disconnect();

  // Ours: the replay engine reading from Kafka, per worker count, each in a fresh process.
  const runs = [];
  for (const workers of workerCounts) {
    const output = execFileSync(
      process.execPath,
      [join(here, 'replay-run.mjs'), topic, join(dir, 'candidate.tar.gz'), String(workers)],
      { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 },
    );
    const run = JSON.parse(output.trim().split('\n').at(-1));
    run.workers = workers;
    runs.push(run);
    log(
      `replay workers=${workers}: ${run.decisions} decisions in ${run.seconds.toFixed(2)} s = ` +
        `${Math.round(run.decisions / run.seconds)}/s, peak RSS ${run.peakRssMb} MB, ` +
        `allow→deny ${run.totals.allow_to_deny}, deny→allow ${run.totals.deny_to_allow}, invalid ${run.invalid}`,
    );
  }
  const best = runs.reduce((a, b) => (b.decisions / b.seconds > a.decisions / a.seconds ? b : a));

  // Peer: stock OPA evaluating the same inputs with `opa exec` (one process, many
  // input files), on the candidate bundle as built (wasm engine) and on a plain
  // Rego bundle of the same sources and data (topdown engine); the faster counts.
  // Process start-up is measured with a single input and taken out.
  const inputsDir = join(dir, 'inputs');
  const oneDir = join(dir, 'one');
  execFileSync('mkdir', ['-p', inputsDir, oneDir]);
  const sample = [...benchInputs(peerSample)];
  // Written in chunks: one open file per input at once would exhaust file descriptors.
  for (let i = 0; i < sample.length; i += 256) {
    await Promise.all(
      sample
        .slice(i, i + 256)
        .map((input, j) =>
          writeFile(
            join(inputsDir, `${String(i + j).padStart(7, '0')}.json`),
            JSON.stringify(input),
          ),
        ),
    );
  }
  await writeFile(join(oneDir, 'input.json'), JSON.stringify(sample[0]));
  const regoSrc = join(dir, 'candidate-rego');
  execFileSync('mkdir', ['-p', regoSrc]);
  await writeFile(
    join(regoSrc, 'authz.rego'),
    await readFile(join(root, 'apps/policy-validator/fixtures/realistic/authz.rego')),
  );
  await writeFile(join(regoSrc, 'data.json'), JSON.stringify(candidateData));
  execFileSync(opaBin, ['build', '--bundle', regoSrc, '-o', join(dir, 'candidate-rego.tar.gz')]);

  const exec = (bundlePath, inputs) => {
    const started = performance.now();
    const output = execFileSync(
      opaBin,
      ['exec', '--decision', 'caracal/authz/result', '--bundle', bundlePath, inputs],
      { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return { seconds: (performance.now() - started) / 1000, output };
  };
  const peers = [
    ['opa exec, candidate bundle (wasm engine)', join(dir, 'candidate.tar.gz')],
    ['opa exec, Rego bundle of the same sources (topdown)', join(dir, 'candidate-rego.tar.gz')],
  ].map(([name, bundlePath]) => {
    const startup = exec(bundlePath, oneDir).seconds;
    const run = exec(bundlePath, inputsDir);
    const perSecond = (sample.length - 1) / Math.max(run.seconds - startup, 1e-3);
    log(
      `${name}: ${sample.length} decisions in ${run.seconds.toFixed(2)} s (start-up ${startup.toFixed(2)} s) = ${Math.round(perSecond)}/s`,
    );
    return { name, perSecond, output: run.output };
  });
  const peer = peers.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

  const candidatePolicy = await load(candidate);
  const theirs = new Map(
    JSON.parse(peer.output).result.map((entry) => [entry.path.split('/').at(-1), entry.result]),
  );
  let mismatches = 0;
  sample.forEach((input, i) => {
    const ours = candidatePolicy.evaluate(input, 'caracal/authz/result');
    if (!isDeepStrictEqual(ours, theirs.get(`${String(i).padStart(7, '0')}.json`))) mismatches += 1;
  });
  const oursPerSecond = best.decisions / best.seconds;
  log(`peer: ${peer.name}`);
  log(
    `replay_decisions_per_s=${Math.round(oursPerSecond)} opa_decisions_per_s=${Math.round(peer.perSecond)} ` +
      `ratio=${(oursPerSecond / peer.perSecond).toFixed(2)} peak_rss_mb=${Math.max(...runs.map((r) => r.peakRssMb))} ` +
      `mismatches=${mismatches}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
