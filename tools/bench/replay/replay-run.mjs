// One measured replay, in its own process so its peak RSS is its own:
//   node replay-run.mjs <topic> <candidate-bundle-path> <workers>
// Prints one JSON line: { decisions, seconds, peakRssMb, totals }.
import { readFile } from 'node:fs/promises';
import { createKafka, readTopicRangeBatches } from '@caracal-deploy/kafka';
import { replayDecisions } from '@caracal-deploy/replay';

const [topic, bundlePath, workers] = process.argv.slice(2);
const brokers = (process.env.CARACAL_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const kafka = createKafka({ brokers, clientId: 'replay-bench' });
const bundle = new Uint8Array(await readFile(bundlePath));

// Batches as the policy-validator reads them: one async step per fetched batch.
async function* values() {
  for await (const batch of readTopicRangeBatches(kafka, { topic, bufferSize: 4096 })) {
    yield batch.flatMap((message) => (message.value ? [message.value] : []));
  }
}

const started = performance.now();
const result = await replayDecisions({
  bundle,
  records: values(),
  gate: {},
  workers: Number(workers),
  batchSize: 1024,
});
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    decisions: result.report.totals.evaluated,
    seconds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    totals: result.report.totals,
    invalid: result.progress.invalid,
  }),
);
