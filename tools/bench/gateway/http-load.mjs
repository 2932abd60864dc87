// Closed-loop keep-alive HTTP load generator, run as its own process so it
// does not share an event loop with what it measures.
//
//   node http-load.mjs '<json options>'
//
// Options: { targets: {name: url}, headers, concurrency, warmupRequests,
// rounds, requestsPerRound }. Targets are measured in alternating rounds
// (a, b, a, b, …) so drift on a shared machine hits all of them alike. Each
// of `concurrency` workers sends one request at a time on its own keep-alive
// connection. Prints one JSON line: per target, count, errors, non-2xx,
// latency percentiles in ms and requests/s.
import { Agent, request } from 'node:http';

const options = JSON.parse(process.argv[2] ?? '{}');
const concurrency = options.concurrency ?? 4;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency * 2 });

function once(url, headers) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode }),
      );
    });
    req.on('error', (error) => resolve({ ms: 0, status: 0, error }));
    req.end();
  });
}

async function burst(url, count, sink) {
  let left = count;
  const worker = async () => {
    while (left > 0) {
      left -= 1;
      sink(await once(url, options.headers ?? {}));
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const percentile = (sorted, p) =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const names = Object.keys(options.targets);
const stats = Object.fromEntries(
  names.map((name) => [
    name,
    { latencies: [], errors: 0, non2xx: 0, seconds: 0, firstError: undefined },
  ]),
);
for (const name of names)
  await burst(options.targets[name], options.warmupRequests ?? 2_000, () => {});
for (let round = 0; round < (options.rounds ?? 10); round += 1) {
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const s = stats[name];
    s.seconds += await burst(options.targets[name], options.requestsPerRound ?? 2_000, (r) => {
      if (r.error) {
        s.errors += 1;
        s.firstError ??= String(r.error.message);
      } else if (r.status < 200 || r.status > 299) s.non2xx += 1;
      else s.latencies.push(r.ms);
    });
  }
}
agent.destroy();
const report = {};
for (const name of names) {
  const s = stats[name];
  const sorted = s.latencies.sort((a, b) => a - b);
  report[name] = {
    count: sorted.length,
    errors: s.errors,
    non2xx: s.non2xx,
    ...(s.firstError ? { firstError: s.firstError } : {}),
    rps: Math.round((sorted.length + s.errors + s.non2xx) / s.seconds),
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1),
  };
}
console.log(JSON.stringify(report));
