// Audit benchmark (npm run bench:audit): one STS process's decision + audit
// path at its maximum rate, into the real Kafka: every decision is evaluated
// on the realistic signed bundle and queued as an audit event and a decision
// log (token minting excluded), sent by the replica's own publisher
// (idempotent producer, acks=all, bounded buffer with backpressure). Every
// event is consumed back afterwards; a decision the engine accepted whose audit
// event or decision log is missing counts as lost.
//
//   node tools/bench/audit/audit-bench.mjs [--duration-ms 15000]
//
// The rate counts accepted decisions over the time until the last of their
// records was acknowledged by Kafka (the drive plus the final flush).
// Last line: audit_events_per_s=<n> lost=<n>
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { buildRealisticBundles, startStsBoundaries } from '../lib/sts-bench-stack.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1] : fallback;
};
const durationMs = Number(option('duration-ms', '15000'));
const here = new URL('.', import.meta.url).pathname;
const log = (...line) => console.log(...line);

const dir = await mkdtemp(join(tmpdir(), 'audit-bench-'));
let boundaries;
try {
  const bundles = await buildRealisticBundles(dir);
  boundaries = await startStsBoundaries(dir, bundles);
  // Asynchronously: this process serves the stand-ins the STS reads at start-up.
  const { stdout: output } = await promisify(execFile)(
    process.execPath,
    [join(here, 'audit-run.mjs'), String(durationMs)],
    {
      encoding: 'utf8',
      env: { ...process.env, ...boundaries.env('sts-audit-bench'), NO_COLOR: '1' },
      maxBuffer: 1 << 26,
    },
  );
  const run = JSON.parse(output.trim().split('\n').at(-1));
  const perSecond = run.decisions / run.seconds;
  log(
    `one STS process: ${run.decisions} decisions accepted in ${run.drivenSeconds.toFixed(2)} s of driving, ` +
      `all acknowledged by Kafka after ${run.seconds.toFixed(2)} s (${run.outcomes.allow} allow, ${run.outcomes.deny} deny); ` +
      `${run.refused} refusals while the audit buffer was full`,
  );
  log(
    `consumed back: ${run.records.audit} audit events, ${run.records.logs} decision logs; ` +
      `missing audit ${run.missingAudit}, missing logs ${run.missingLogs}, duplicates ${run.duplicates}`,
  );
  if (run.lost > 0) process.exitCode = 1;
  log(`audit_events_per_s=${Math.round(perSecond)} lost=${run.lost}`);
} finally {
  await boundaries?.close();
  await rm(dir, { recursive: true, force: true });
}
