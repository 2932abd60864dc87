// Keep-alive HTTP load generator with fixed concurrency, shared by the benchmarks.
//
// It runs in its own process (a child forked from this file), so the client's
// CPU is never charged to, or taken from, the event loop of a server measured in
// the caller's process. `concurrency` connections each keep exactly one request
// in flight (a closed loop: the next request leaves when the previous response
// has been read to its end); every measured request's latency is recorded and
// the percentiles come from those recordings, not from a histogram's buckets.
//
//   import { runHttpLoad } from '../lib/http-load.mjs';
//   const result = await runHttpLoad({
//     url: 'http://127.0.0.1:8181/v1/data/caracal/authz/result',
//     method: 'POST',
//     headers: { 'content-type': 'application/json' },
//     bodies: inputs.map((input) => JSON.stringify({ input })), // cycled in order
//     concurrency: 32,
//     warmupMs: 2000,
//     durationMs: 10000,
//   });
//   // → { requests, perSecond, latencyMs: { p50, p99, … }, errors, statuses, … }
//
// Requests are taken round-robin from `requests` ({ method, path, headers, body })
// or, in the short form, built from `method`/`path`/`headers` and each of
// `bodies`. A response counts as an error when its status is not in
// `expectStatus` (default: any 2xx) or the request failed on the network; the
// first few error messages come back in `errorSamples`. `collectResponses: n`
// returns the first n measured responses ({ index, status, headers, body }),
// where `index` is the position in the request list, for checking answers.
// `keepLatencies: true` also returns every measured latency (`latencies`, ms),
// so several runs can be pooled into one set of percentiles (see `summarise`).
//
// From a shell: node tools/bench/lib/http-load.mjs --url URL [--method POST]
//   [--header 'content-type: application/json'] [--body-file FILE]
//   [--concurrency 32] [--warmup-ms 2000] [--duration-ms 10000]
// prints the result as one JSON line.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const childFlag = '--http-load-child';

/**
 * Runs one load in a child process and resolves with its result:
 * `{ concurrency, requests, errors, errorSamples, statuses, seconds, perSecond,
 *    latencyMs: { mean, p50, p90, p99, p999, max }, responses }`.
 */
export function runHttpLoad(options) {
  const plan = normalise(options);
  return new Promise((resolve, reject) => {
    const child = fork(self, [childFlag], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    let result;
    child.on('message', (message) => {
      if (message.error) reject(new Error(`http load: ${message.error}`));
      else result = message.result;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else reject(new Error(`http load: generator exited with ${signal ?? code} and no result`));
    });
    child.send(plan);
  });
}

/**
 * Throughput and latency percentiles of recorded latencies (ms) over `seconds`:
 * `{ requests, seconds, perSecond, latencyMs: { mean, p50, p90, p99, p999, max } }`.
 * Percentiles are nearest-rank over the recordings themselves.
 */
export function summarise(recordedLatencies, seconds) {
  const sorted = Float64Array.from(recordedLatencies).sort();
  const count = sorted.length;
  const quantile = (q) => (count === 0 ? 0 : sorted[Math.min(count - 1, Math.ceil(q * count) - 1)]);
  let sum = 0;
  for (let i = 0; i < count; i += 1) sum += sorted[i];
  return {
    requests: count,
    seconds,
    perSecond: seconds > 0 ? count / seconds : 0,
    latencyMs: {
      mean: count ? sum / count : 0,
      p50: quantile(0.5),
      p90: quantile(0.9),
      p99: quantile(0.99),
      p999: quantile(0.999),
      max: count ? sorted[count - 1] : 0,
    },
  };
}

/** Validates options and turns them into the plan sent to the child. */
function normalise(options) {
  const base = new URL(options.url);
  if (base.protocol !== 'http:')
    throw new Error(`http load: only http:// URLs, got ${options.url}`);
  const concurrency = options.concurrency ?? 32;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`http load: concurrency must be a positive integer, got ${concurrency}`);
  }
  const defaults = {
    method: options.method ?? (options.bodies ? 'POST' : 'GET'),
    path: options.path ?? `${base.pathname}${base.search}`,
    headers: options.headers ?? {},
  };
  const requests = options.requests
    ? options.requests.map((r) => ({
        ...defaults,
        ...r,
        headers: { ...defaults.headers, ...r.headers },
      }))
    : (options.bodies ?? [undefined]).map((body) => ({ ...defaults, body }));
  if (requests.length === 0) throw new Error('http load: no requests to send');
  return {
    host: base.hostname,
    port: Number(base.port || 80),
    requests,
    concurrency,
    warmupMs: options.warmupMs ?? 1000,
    durationMs: options.durationMs ?? 10000,
    timeoutMs: options.timeoutMs ?? 30000,
    expectStatus: options.expectStatus ?? null,
    collectResponses: options.collectResponses ?? 0,
    keepLatencies: options.keepLatencies ?? false,
  };
}

/** The child: drives the load and sends back one result message. */
async function drive(plan) {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: plan.concurrency,
    maxFreeSockets: plan.concurrency,
  });
  const prepared = plan.requests.map((r) => {
    // Kept a string: node:http sends a string body in the same write as the head.
    const body = r.body === undefined ? undefined : String(r.body);
    const headers = { ...r.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return { method: r.method, path: r.path, headers, body };
  });
  const expected = plan.expectStatus ? new Set(plan.expectStatus) : null;
  const okStatus = (status) => (expected ? expected.has(status) : status >= 200 && status < 300);

  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  const record = (ms) => {
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = ms;
  };
  const statuses = {};
  const errorSamples = [];
  const responses = [];
  let errors = 0;
  let next = 0;

  const send = (index) =>
    new Promise((resolve) => {
      const r = prepared[index];
      const req = httpRequest(
        {
          agent,
          host: plan.host,
          port: plan.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
          timeout: plan.timeoutMs,
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, chunks, error: null }),
          );
          res.on('error', (error) => resolve({ status: 0, chunks, error }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${plan.timeoutMs} ms`)));
      req.on('error', (error) => resolve({ status: 0, chunks: [], error }));
      req.end(r.body);
    });

  const started = performance.now();
  const measureFrom = started + plan.warmupMs;
  const stopAt = measureFrom + plan.durationMs;
  let lastEnd = measureFrom;

  const loop = async () => {
    for (;;) {
      const sentAt = performance.now();
      if (sentAt >= stopAt) return;
      const index = next;
      next = (next + 1) % prepared.length;
      const answer = await send(index);
      const endedAt = performance.now();
      if (sentAt < measureFrom) continue;
      record(endedAt - sentAt);
      if (endedAt > lastEnd) lastEnd = endedAt;
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      const failed = answer.error !== null || !okStatus(answer.status);
      if (failed) {
        errors += 1;
        if (errorSamples.length < 5) {
          errorSamples.push(
            answer.error
              ? answer.error.message
              : `status ${answer.status}: ${Buffer.concat(answer.chunks).toString('utf8').slice(0, 300)}`,
          );
        }
      }
      if (responses.length < plan.collectResponses) {
        responses.push({
          index,
          status: answer.status,
          headers: answer.headers ?? {},
          body: Buffer.concat(answer.chunks).toString('utf8'),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  agent.destroy();

  const seconds = (lastEnd - measureFrom) / 1000;
  return {
    concurrency: plan.concurrency,
    errors,
    errorSamples,
    statuses,
    ...summarise(latencies.subarray(0, recorded), seconds),
    ...(plan.keepLatencies ? { latencies: Array.from(latencies.subarray(0, recorded)) } : {}),
    responses,
  };
}

if (process.argv[2] === childFlag) {
  process.once('message', (plan) => {
    drive(plan).then(
      (result) => process.send({ result }, () => process.disconnect()),
      (error) => process.send({ error: error.stack ?? String(error) }, () => process.disconnect()),
    );
  });
} else if (process.argv[1] === self) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 && args[index + 1] !== undefined ? args[index + 1] : fallback;
  };
  const headers = {};
  args.forEach((arg, i) => {
    if (arg !== '--header') return;
    const [name, ...value] = args[i + 1].split(':');
    headers[name.trim().toLowerCase()] = value.join(':').trim();
  });
  const bodyFile = option('body-file');
  const result = await runHttpLoad({
    url: option('url'),
    method: option('method'),
    headers,
    ...(bodyFile ? { bodies: [readFileSync(bodyFile, 'utf8')] } : {}),
    concurrency: Number(option('concurrency', '32')),
    warmupMs: Number(option('warmup-ms', '1000')),
    durationMs: Number(option('duration-ms', '10000')),
  });
  console.log(JSON.stringify(result));
}
