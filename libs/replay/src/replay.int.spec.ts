import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancelledError, InvalidArgumentError } from '@caracal-deploy/errors';
import { createKafka, readTopicRange, readTopicRangeBatches } from '@caracal-deploy/kafka';
import { OpaCli } from '@caracal-deploy/opa';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  type TestTopic,
} from '@caracal-deploy/testing';

import { replayDecisions } from './index.js';

const settings = infraSettings();

const resources: Record<string, string[]> = {
  'resource://api': ['read', 'write'],
  'resource://files': ['read', 'write'],
  'resource://admin': ['read'],
};

/** The live policy: same-zone callers get the scopes the resource has. */
const baselineRego = `package caracal.authz

granted if {
	every scope in input.context.requested_scopes { scope in data.catalog[input.resource.identifier] }
}

allowed if {
	input.principal.zone_id == "zone-1"
	granted
}

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [{"id": "baseline", "version": "1"}], "diagnostics": []} if allowed
`;

/** The candidate: stops writes to files (allow → deny) and lets Service principals in from any zone (deny → allow). */
const candidateRego = baselineRego
  .replace(
    'result := {"decision": "allow"',
    `write_to_files if {
	input.resource.identifier == "resource://files"
	"write" in input.context.requested_scopes
}

allowed if {
	input.principal.type == "Service"
	granted
}

result := {"decision": "allow"`,
  )
  .replace(
    `allowed if {
	input.principal.zone_id == "zone-1"
	granted
}`,
    `allowed if {
	input.principal.zone_id == "zone-1"
	granted
	not write_to_files
}`,
  );

interface Case {
  zone: string;
  type: string;
  resource: string;
  scopes: string[];
}

const subsetOf = (scopes: string[], of: string[]) => scopes.every((scope) => of.includes(scope));
/** Independent models of both policies, to check the replay's counts against. */
const baselineAllows = (c: Case) =>
  c.zone === 'zone-1' && subsetOf(c.scopes, resources[c.resource] ?? []);
const candidateAllows = (c: Case) =>
  (baselineAllows(c) && !(c.resource === 'resource://files' && c.scopes.includes('write'))) ||
  (c.type === 'Service' && subsetOf(c.scopes, resources[c.resource] ?? []));

/** A deterministic spread of cases over zones, principal types, resources and scopes. */
function cases(count: number): Case[] {
  const scopeSets = [['read'], ['write'], ['read', 'write'], ['admin']];
  return Array.from({ length: count }, (_, i) => ({
    zone: i % 3 === 0 ? 'zone-2' : 'zone-1',
    type: i % 5 === 0 ? 'Service' : 'Application',
    resource: Object.keys(resources)[i % 3] ?? 'resource://api',
    scopes: scopeSets[(i >> 2) % 4] ?? ['read'],
  }));
}

function record(c: Case, i: number, zoneId = 'zone-1'): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      decision_id: `dec-${i}`,
      zone_id: zoneId,
      revision: 'live',
      timestamp: 1_700_000_000_000 + i,
      input: {
        schema_version: '2026-05-20',
        principal: { type: c.type, id: `p-${i}`, zone_id: c.zone },
        resource: {
          type: 'http',
          id: c.resource,
          identifier: c.resource,
          scopes: resources[c.resource],
        },
        action: { id: 'exchange' },
        context: { requested_scopes: c.scopes },
      },
      result: { decision: baselineAllows(c) ? 'allow' : 'deny', evaluation_status: 'complete' },
    }),
  );
}

function expectedTotals(all: Case[]) {
  const totals = {
    evaluated: all.length,
    unchanged: 0,
    allow_to_deny: 0,
    deny_to_allow: 0,
    newly_erroring: 0,
  };
  for (const c of all) {
    const [was, now] = [baselineAllows(c), candidateAllows(c)];
    if (was === now) totals.unchanged += 1;
    else if (was) totals.allow_to_deny += 1;
    else totals.deny_to_allow += 1;
  }
  return totals;
}

describe('replayDecisions with the real OPA-built candidate bundle', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  let dir: string;
  let candidate: Uint8Array;

  before(async () => {
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'replay-int-'));
    await writeFile(join(dir, 'policy.rego'), candidateRego);
    await writeFile(join(dir, 'data.json'), JSON.stringify({ catalog: resources }));
    candidate = await opa.buildWasm(dir, ['caracal/authz/result']);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('counts each kind of change exactly as the policies differ, on every worker count', async () => {
    const all = cases(3_000);
    const expected = expectedTotals(all);
    assert.ok(
      expected.allow_to_deny > 0 && expected.deny_to_allow > 0,
      'the corpus exercises both directions',
    );
    for (const workers of [1, 2]) {
      const result = await replayDecisions({
        bundle: candidate,
        records: all.map((c, i) => record(c, i)),
        gate: { failOnDenyToAllow: true },
        workers,
        batchSize: 128,
      });
      assert.deepEqual(result.report.totals, expected, `with ${workers} workers`);
      assert.equal(result.gate.verdict, 'fail');
      assert.match(result.gate.reasons[0] ?? '', /recorded denies would become allows/);
      const files = result.report.topGroups.find(
        (g) => g.resource === 'resource://files' && g.change === 'allow_to_deny',
      );
      assert.ok(files, 'writes to files show up as an allow → deny group');
      assert.ok(files.scopes.includes('write'));
      assert.ok(files.exampleDecisionIds.length > 0);
    }
  });

  it('skips other zones, counts unreadable records, and passes a gate that allows the change', async () => {
    const all = cases(200);
    const encoded = [
      ...all.map((c, i) => record(c, i)),
      record(all[0]!, 9_001, 'zone-9'),
      new TextEncoder().encode('not json'),
      new TextEncoder().encode(JSON.stringify({ decision_id: 'x' })),
    ];
    const progress: number[] = [];
    const result = await replayDecisions({
      bundle: candidate,
      records: encoded,
      zoneId: 'zone-1',
      gate: { maxAllowToDeny: 1_000 },
      onProgress: (p) => progress.push(p.evaluated),
    });
    assert.equal(result.progress.read, 203);
    assert.equal(result.progress.skipped, 1);
    assert.equal(result.progress.invalid, 2);
    assert.equal(result.report.totals.evaluated, 200);
    assert.equal(result.gate.verdict, 'pass');
    assert.equal(progress.at(-1), 200, 'the last progress report is the final count');
    assert.ok(result.firstInvalid && result.firstInvalid.length > 0);
  });

  it('says no_data for an empty window instead of passing', async () => {
    const result = await replayDecisions({ bundle: candidate, records: [], gate: {} });
    assert.equal(result.gate.verdict, 'no_data');
    assert.deepEqual(result.gate.reasons, ['no recorded decisions in the window']);
  });

  it('rejects a candidate that is not a loadable bundle', async () => {
    await assert.rejects(
      replayDecisions({
        bundle: new TextEncoder().encode('not a bundle'),
        records: cases(10).map((c, i) => record(c, i)),
        gate: {},
        workers: 1,
      }),
      InvalidArgumentError,
    );
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    function* endless(): Generator<Uint8Array> {
      for (let i = 0; ; i += 1) {
        if (i === 5_000) controller.abort();
        yield record(cases(1)[0]!, i);
      }
    }
    await assert.rejects(
      replayDecisions({
        bundle: candidate,
        records: endless(),
        gate: {},
        signal: controller.signal,
      }),
      CancelledError,
    );
  });

  describe('reading recorded decisions from Kafka', () => {
    const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'replay-int' });
    let topic: TestTopic;

    before(async () => {
      await assertReachable('kafka', settings);
      topic = await createTestTopic(settings.kafkaBrokers, { partitions: 3 });
    });
    after(() => topic.delete());

    it('replays what the log holds and matches the in-memory replay', async () => {
      const all = cases(1_500);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({
        topic: topic.topic,
        acks: -1,
        messages: all.map((c, i) => ({ key: 'zone-1', value: Buffer.from(record(c, i)) })),
      });
      await producer.disconnect();

      async function* values(): AsyncGenerator<Uint8Array> {
        for await (const message of readTopicRange(kafka, { topic: topic.topic })) {
          if (message.value) yield message.value;
        }
      }
      const result = await replayDecisions({ bundle: candidate, records: values(), gate: {} });
      assert.deepEqual(result.report.totals, expectedTotals(all));

      // The same log a fetched batch at a time, as the policy-validator reads it.
      async function* batches(): AsyncGenerator<Uint8Array[]> {
        for await (const batch of readTopicRangeBatches(kafka, { topic: topic.topic })) {
          yield batch.flatMap((message) => (message.value ? [message.value] : []));
        }
      }
      const batched = await replayDecisions({
        bundle: candidate,
        records: batches(),
        gate: {},
        batchSize: 100,
      });
      assert.deepEqual(batched.report.totals, expectedTotals(all));
      assert.equal(batched.progress.read, all.length);
    });
  });
});
