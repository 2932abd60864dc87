// One STS process driving its decision + audit path at its maximum rate:
//   node audit-run.mjs <duration-ms>   (configuration from the CARACAL_* environment)
// It builds the replica's real core from its configuration (bundle fetched,
// verified and loaded; audit publisher on the idempotent acks=all producer)
// and calls the decision engine, the code path of Decide and of the token
// exchange minus token minting, as fast as the engine takes decisions: when
// the audit buffer is full the engine refuses (backpressure) and the driver
// backs off for 2 ms, as a caller answered 503 would. It then stops the core (which sends
// everything still buffered), consumes both topics back and checks that every
// accepted decision has its audit event and its decision log.
// Prints one JSON line: { decisions, outcomes, refused, seconds, drivenSeconds, lost, missingAudit, missingLogs, duplicates }.
import { ResourceExhaustedError } from '@caracal-deploy/errors';
import { createKafka, readTopicRange } from '@caracal-deploy/kafka';
import { Registry } from 'prom-client';

import { loadStsConfig } from '../../../apps/sts/dist/config/sts.config.js';
import { StsCore } from '../../../apps/sts/dist/sts-core.js';
import { benchZone, realisticInputs } from '../lib/sts-bench-stack.mjs';

const durationMs = Number(process.argv[2] ?? '15000');
const config = loadStsConfig();
const core = await StsCore.create(config, new Registry());
await core.start();
// Decisions without a bundle are denies that evaluate nothing: measure only a served zone.
const active = core.runtimes.get(benchZone)?.active;
if (!active) throw new Error(`zone ${benchZone} has no bundle after start; see the log above`);
const inputs = realisticInputs(2000);
const outcomes = { allow: 0, deny: 0 };

const accepted = [];
let refused = 0;
let i = 0;
const started = performance.now();
let backOff = false;
while (performance.now() - started < durationMs) {
  // A slice of decisions per turn of the event loop, so Kafka sends progress between them.
  for (let k = 0; k < 200; k += 1) {
    try {
      const decided = core.engine.decide({
        zoneId: benchZone,
        requestId: `audit-bench-${i}`,
        eventType: 'gateway.decide',
        input: inputs[i % inputs.length],
      });
      if (decided.revision !== active.revision) {
        throw new Error(`decided on ${decided.revision}, expected ${active.revision}`);
      }
      accepted.push(decided.decisionId);
      outcomes[decided.decision] += 1;
      i += 1;
    } catch (error) {
      if (!(error instanceof ResourceExhaustedError)) throw error;
      refused += 1;
      backOff = true;
      break;
    }
  }
  // Refused: give the sends a moment, as a caller answered 503 would, instead of spinning.
  await new Promise((resolve) => (backOff ? setTimeout(resolve, 2) : setImmediate(resolve)));
  backOff = false;
}
const drivenSeconds = (performance.now() - started) / 1000;
// Stopping sends everything still buffered; only then are the decisions delivered.
await core.stop();
const seconds = (performance.now() - started) / 1000;

const kafka = createKafka({ brokers: config.kafka.brokers, clientId: 'audit-bench-check' });
const seen = async (topic, field) => {
  const counts = new Map();
  for await (const message of readTopicRange(kafka, { topic, bufferSize: 8192 })) {
    const id = JSON.parse(message.value.toString('utf8'))[field];
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
};
const audits = await seen(config.kafka.auditTopic, 'id');
const logs = await seen(config.kafka.decisionLogTopic, 'decision_id');
let missingAudit = 0;
let missingLogs = 0;
let lost = 0;
for (const id of accepted) {
  const noAudit = !audits.has(id);
  const noLog = !logs.has(id);
  if (noAudit) missingAudit += 1;
  if (noLog) missingLogs += 1;
  if (noAudit || noLog) lost += 1;
}
let duplicates = 0;
for (const counts of [audits, logs]) for (const n of counts.values()) duplicates += n - 1;
console.log(
  JSON.stringify({
    decisions: accepted.length,
    outcomes,
    refused,
    seconds,
    drivenSeconds,
    lost,
    missingAudit,
    missingLogs,
    duplicates,
    records: { audit: audits.size, logs: logs.size },
  }),
);
