// Evaluates batches of recorded decisions against the candidate bundle in a
// worker thread: one opa-wasm instance per worker, aggregation local to the
// worker, only counts and the final aggregate cross back to the engine.
import { parentPort, workerData } from 'node:worker_threads';
import { loadWasmPolicy, readBundle, type WasmPolicy } from '@caracal-deploy/opa';
import {
  ImpactAggregator,
  classifyChange,
  effectiveDecision,
  readDecisionLogRecord,
} from '@caracal-deploy/simulation';
import type { FieldViolation } from '@caracal-deploy/errors';

import type { FromWorker, ReplayWorkerData, ToWorker } from './replay-protocol.js';

const port = parentPort;
if (!port) throw new Error('replay.worker must run in a worker thread');
const data = workerData as ReplayWorkerData;
const post = (message: FromWorker) => port.postMessage(message);
const decoder = new TextDecoder();
const aggregator = new ImpactAggregator({
  maxGroups: data.maxGroups,
  examplesPerGroup: data.examplesPerGroup,
});

function evaluateCandidate(policy: WasmPolicy, inputJson: Uint8Array): unknown {
  try {
    // The recorded bytes go into wasm memory as they are: no parse, no copy in between.
    return policy.evaluateJson(inputJson, data.entrypoint).value;
  } catch {
    // An evaluation that throws is an erroring decision, which the STS would deny.
    return undefined;
  }
}

function handleBatch(policy: WasmPolicy, bytes: Uint8Array, offsets: Uint32Array): void {
  let evaluated = 0;
  let invalid = 0;
  let skipped = 0;
  let firstInvalid: readonly FieldViolation[] | undefined;
  for (let i = 0; i + 1 < offsets.length; i += 1) {
    const parsed = readDecisionLogRecord(bytes.subarray(offsets[i], offsets[i + 1]));
    if (!parsed.ok) {
      invalid += 1;
      firstInvalid ??= parsed.violations;
      continue;
    }
    const { record } = parsed;
    if (data.zoneId !== undefined && record.zoneId !== data.zoneId) {
      skipped += 1;
      continue;
    }
    const recorded = effectiveDecision(record.result);
    const candidate = effectiveDecision(evaluateCandidate(policy, record.inputJson));
    const change = classifyChange(recorded, candidate);
    // Only changed decisions are grouped, so only their inputs are ever parsed.
    const input: unknown =
      change === 'unchanged' ? undefined : JSON.parse(decoder.decode(record.inputJson));
    aggregator.add(record.decisionId, input, change);
    evaluated += 1;
  }
  post({
    kind: 'batch-done',
    evaluated,
    invalid,
    skipped,
    ...(firstInvalid ? { firstInvalid } : {}),
  });
}

async function main(): Promise<void> {
  let policy: WasmPolicy;
  try {
    const bundle = readBundle(data.bundle);
    policy = await loadWasmPolicy(bundle.wasm, bundle.data);
    if (!policy.entrypoints.includes(data.entrypoint)) {
      throw new Error(
        `bundle has no entrypoint ${data.entrypoint} (has ${policy.entrypoints.join(', ')})`,
      );
    }
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  port!.on('message', (message: ToWorker) => {
    if (message.kind === 'batch') handleBatch(policy, message.bytes, message.offsets);
    else {
      post({ kind: 'finished', report: aggregator.report({ allGroups: true }) });
      port!.close();
    }
  });
}

void main();
