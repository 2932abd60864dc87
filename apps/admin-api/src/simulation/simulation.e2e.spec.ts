import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplication } from '@nestjs/common';
import { createKafka } from '@caracal-deploy/kafka';
import { loadWasmPolicy, readBundle } from '@caracal-deploy/opa';
import { FakeCoordinator } from '@caracal-deploy/stand-ins';
import {
  assertReachable,
  createTestDatabase,
  createTestTopic,
  freePort,
  infraSettings,
  startPolicyValidator,
  type RunningService,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';

import { baselineRego } from '../test-support/policies.js';
import { sharedFixture } from '../test-support/shared-fixtures.js';
import {
  bootAdmin as bootAdminApp,
  createRootToken,
  adminClient,
  type AdminAnswer,
  type ErrorJson,
} from '../test-support/admin-app.test-support.js';

const settings = infraSettings();
const maxCases = 5;

/** A policy input for zone `prod` asking for `scopes` on resource://api. */
function input(scopes: string[]): Record<string, unknown> {
  const value = sharedFixture<{
    principal: { zone_id: string };
    context: { requested_scopes: string[] };
  }>('policy-input.sts.valid.json');
  value.principal.zone_id = 'prod';
  value.context.requested_scopes = scopes;
  return value;
}

/** The candidate policy: allows read and write on resource://api (the baseline allows read only). */
const readWriteRego = baselineRego('read-write').replace(
  '"read" in input.context.requested_scopes',
  'count(input.context.requested_scopes) > 0\n\tevery scope in input.context.requested_scopes { scope in {"read", "write"} }',
);

/** One case's outcome as the API returns it. */
interface CaseResultJson {
  name: string;
  expected_decision: string | null;
  passed: boolean;
  flipped: boolean;
  candidate: {
    decision: string;
    evaluation_status: string;
    determining_policies: { id: string }[];
  } | null;
  baseline: { decision: string } | null;
  input_warnings: { code: string }[];
  invalid: { field: string; problem: string } | null;
}

/** Every JSON field these tests read, typed once. */
interface Body {
  error: ErrorJson;
  id: string;
  token: string;
  sha256: string;
  manifest_sha256: string;
  bundle_sha256: string | null;
  candidate: { bundle_sha256: string; revision: string };
  baseline: { bundle_sha256: string } | null;
  summary: { passed: number; failed: number; flipped: number; invalid: number };
  results: CaseResultJson[];
  result: string;
  gate: { clauses: string; reasons: string[] };
  totals: { evaluated: number; deny_to_allow: number; allow_to_deny: number };
  top_groups: {
    resource: string;
    scopes: string;
    change: string;
    example_decision_ids: string[];
  }[];
  revision: number;
  cases: { name: string }[];
  expected_cases: {
    expected_cases_revision: number;
    summary: { passed: number; failed: number };
    results: CaseResultJson[];
  } | null;
  paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
}

type Answer = AdminAnswer<Body>;
const client = (baseUrl: string) => adminClient<Body>(baseUrl);

const show = (answer: Answer) => `HTTP ${answer.status}: ${answer.text.slice(0, 2000)}`;

/** Spawns the real policy-validator reading recorded decisions from `topic` on `brokers`. */
function startValidator(keyDir: string, topic: string, brokers: string) {
  return startPolicyValidator(settings, {
    keyDir,
    keyId: 'admin-simulation-e2e',
    env: {
      CARACAL_KAFKA_BROKERS: brokers,
      CARACAL_DECISION_LOG_TOPIC: topic,
      CARACAL_SIMULATION_MAX_CASES: String(maxCases),
      CARACAL_REPLAY_WORKERS: '2',
    },
  });
}

async function bootAdmin(databaseUrl: string, validator: string, coordinator: string) {
  const { app, baseUrl } = await bootAdminApp({
    CARACAL_POSTGRES_URL: databaseUrl,
    CARACAL_VALIDATOR_ADDRESS: validator,
    CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator,
  });
  return { app, call: client(baseUrl) };
}

describe('simulation over the Admin API, with a real policy-validator, Kafka, PostgreSQL and OPA', () => {
  let database: TestDatabase;
  let topic: TestTopic;
  let keyDir = '';
  let validator: RunningService;
  const coordinator = new FakeCoordinator();
  let coordinatorAddress = '';
  let app: INestApplication;
  let call: ReturnType<typeof client>;
  let admin = '';
  let author = '';
  let viewer = '';
  let readOnlyPolicy = '';
  let readWritePolicy = '';
  /** Live: read only, bundle built and named by the coordinator as the zone's active version. */
  let live: Body;
  /** Candidate: read and write. */
  let candidate: Body;
  let invalidVersion = '';
  const sets = '/v1/zones/prod/policy-sets/main/versions';

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    database = await createTestDatabase(settings);
    topic = await createTestTopic(settings.kafkaBrokers, { partitions: 2 });
    keyDir = mkdtempSync(join(tmpdir(), 'admin-simulation-e2e-'));
    validator = await startValidator(keyDir, topic.topic, settings.kafkaBrokers.join(','));
    coordinatorAddress = await coordinator.listen();
    ({ app, call } = await bootAdmin(database.url, validator.grpcAddress, coordinatorAddress));
    admin = await createRootToken(database.url);
    const token = async (name: string, role: string) =>
      (await call('POST', '/v1/tokens', { token: admin, json: { name, role } })).body.token;
    author = await token('ci', 'author');
    viewer = await token('dash', 'viewer');

    const created = async (path: string, json: unknown, token = admin) => {
      const answer = await call('POST', path, { token, json });
      assert.ok(answer.status === 201 || answer.status === 422, show(answer));
      return answer;
    };
    await created('/v1/zones', { name: 'prod' });
    await created('/v1/zones/prod/resources', {
      identifier: 'resource://api',
      id: 'resource-1',
      type: 'http',
      scopes: ['read', 'write'],
      operations: ['read', 'write'],
    });
    for (const name of ['read-only', 'read-write', 'extra']) {
      await created('/v1/zones/prod/policies', { name }, author);
    }
    const module = (path: string, source: string) => ({ modules: [{ path, source }] });
    readOnlyPolicy = (
      await created(
        '/v1/zones/prod/policies/read-only/versions',
        module('policies/read.rego', baselineRego()),
        author,
      )
    ).body.id;
    readWritePolicy = (
      await created(
        '/v1/zones/prod/policies/read-write/versions',
        module('policies/read-write.rego', readWriteRego),
        author,
      )
    ).body.id;
    const extraPolicy = (
      await created(
        '/v1/zones/prod/policies/extra/versions',
        module('policies/extra.rego', baselineRego('extra')),
        author,
      )
    ).body.id;
    await created('/v1/zones/prod/policy-sets', { name: 'main' }, author);
    live = (await created(sets, { policy_version_ids: [readOnlyPolicy] }, author)).body;
    candidate = (await created(sets, { policy_version_ids: [readWritePolicy] }, author)).body;
    // Two modules with `default allow` in one package: stored, but invalid once merged.
    const invalid = await created(
      sets,
      { policy_version_ids: [readOnlyPolicy, extraPolicy] },
      author,
    );
    assert.equal(invalid.status, 422);
    invalidVersion = invalid.body.error.details['policy_set_version_id'] ?? '';

    const bundle = await call('POST', `${sets}/${live.id}/bundle`, { token: author });
    assert.equal(bundle.status, 201, show(bundle));
    coordinator.bindings.set('prod', {
      revision: live.manifest_sha256,
      bundleSha256: bundle.body.sha256,
      activationId: 'activation-1',
    });
  });

  after(async () => {
    await app?.close();
    await coordinator.close();
    await validator?.process.stop();
    await topic?.delete();
    await database?.drop();
    if (keyDir !== '') rmSync(keyDir, { recursive: true, force: true });
  });

  const cases = [
    { name: 'read', input: input(['read']), expected_decision: 'allow' },
    { name: 'write', input: input(['write']), expected_decision: 'allow' },
    { name: 'nothing', input: input([]), expected_decision: 'allow' },
  ];

  describe('declared cases', () => {
    it("evaluates the version's signed bundle and reports pass/fail per case", async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.deepEqual(
        answer.body.results.map((result) => [
          result.name,
          result.candidate?.decision,
          result.passed,
        ]),
        [
          ['read', 'allow', true],
          ['write', 'allow', true],
          ['nothing', 'deny', false],
        ],
      );
      assert.deepEqual(answer.body.summary, { passed: 2, failed: 1, flipped: 0, invalid: 0 });
      const [read] = answer.body.results;
      assert.equal(read?.candidate?.evaluation_status, 'complete');
      assert.deepEqual(read?.candidate?.determining_policies, [{ id: 'read-write' }]);
      assert.equal(read?.baseline, null);
      assert.equal(answer.body.baseline, null);
      // The bundle was built for the simulation and is the one the registry serves.
      const version = await call('GET', `${sets}/${candidate.id}`, { token: viewer });
      assert.equal(version.body.bundle_sha256, answer.body.candidate.bundle_sha256);
      assert.equal(answer.body.candidate.revision, candidate.manifest_sha256);
    });

    it("compares against the zone's live version case by case and shows what flips", async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases, against_live: true },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.deepEqual(
        answer.body.results.map((result) => [
          result.name,
          result.baseline?.decision,
          result.candidate?.decision,
          result.flipped,
        ]),
        [
          ['read', 'allow', 'allow', false],
          ['write', 'deny', 'allow', true],
          ['nothing', 'deny', 'deny', false],
        ],
      );
      assert.equal(answer.body.summary.flipped, 1);
      assert.equal(
        answer.body.baseline?.bundle_sha256,
        coordinator.bindings.get('prod')?.bundleSha256,
      );
    });

    it('warns about inputs that explain surprises', async () => {
      const odd = input(['admin']);
      (odd['principal'] as { zone_id: string }).zone_id = 'staging';
      const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases: [{ name: 'odd', input: odd, expected_decision: 'deny' }] },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.deepEqual(
        answer.body.results[0]?.input_warnings.map((warning) => warning.code).sort(),
        ['principal_zone_mismatch', 'scopes_not_in_resource'],
      );
    });

    it('answers 404 for an unknown version', async () => {
      const answer = await call(
        'POST',
        `${sets}/00000000-0000-4000-8000-000000000000/simulations`,
        {
          token: author,
          json: { cases },
        },
      );
      assert.equal(answer.status, 404, show(answer));
      assert.equal(answer.body.error.code, 'not_found');
    });

    it('answers 409 naming why for a version that failed validation', async () => {
      const answer = await call('POST', `${sets}/${invalidVersion}/simulations`, {
        token: author,
        json: { cases },
      });
      assert.equal(answer.status, 409, show(answer));
      assert.equal(answer.body.error.code, 'failed_precondition');
      assert.match(answer.body.error.message, /failed validation/);
      assert.ok(answer.body.error.violations.length > 0);
      // The message names the blocking finding, e.g. its code.
      const code = answer.body.error.violations[0]?.problem.split(':')[0] ?? '(none)';
      assert.ok(answer.body.error.message.includes(code), answer.body.error.message);
    });

    it('answers 400 naming each malformed case, or runs the rest when asked', async () => {
      const batch = [
        cases[0],
        'not an object',
        { name: 'no expectation', input: input(['read']) },
        { name: 'array input', input: [], expected_decision: 'deny' },
      ];
      const refused = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases: batch },
      });
      assert.equal(refused.status, 400, show(refused));
      assert.deepEqual(
        refused.body.error.violations.map((violation) => violation.field),
        ['cases[1]', 'cases[2].expected_decision', 'cases[3].input'],
      );
      assert.match(refused.body.error.violations[0]?.problem ?? '', /expected object, got string/);

      const rest = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases: batch, continue_on_invalid_case: true },
      });
      assert.equal(rest.status, 200, show(rest));
      assert.deepEqual(rest.body.summary, { passed: 1, failed: 0, flipped: 0, invalid: 3 });
      assert.deepEqual(
        rest.body.results.map((result) => result.invalid?.field ?? null),
        [null, 'cases[1]', 'cases[2].expected_decision', 'cases[3].input'],
      );
      assert.equal(rest.body.results[2]?.name, 'no expectation');
    });

    it('answers 413 with the limit for an oversized batch', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: author,
        json: { cases: Array.from({ length: maxCases + 1 }, () => cases[0]) },
      });
      assert.equal(answer.status, 413, show(answer));
      assert.equal(answer.body.error.details['limit'], String(maxCases));
      assert.match(answer.body.error.message, /at most 5 cases/);
    });

    it('answers 409 when the zone has no live version to compare against', async () => {
      const binding = coordinator.bindings.get('prod');
      coordinator.bindings.delete('prod');
      try {
        const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
          token: author,
          json: { cases, against_live: true },
        });
        assert.equal(answer.status, 409, show(answer));
        assert.match(answer.body.error.message, /no active policy-set version/);
      } finally {
        if (binding) coordinator.bindings.set('prod', binding);
      }
    });

    it('lets authors simulate and refuses viewers (403)', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/simulations`, {
        token: viewer,
        json: { cases },
      });
      assert.equal(answer.status, 403);
      assert.equal(answer.body.error.details['required_role'], 'author');
    });
  });

  describe('replay of recorded decisions', () => {
    const recordedAt = 1_790_000_000_000;

    before(async () => {
      // Decisions as the live STS made them: every third asks for write (denied live).
      const liveBundle = coordinator.bindings.get('prod');
      const bytes = await fetchBundle(liveBundle?.bundleSha256 ?? '');
      const files = readBundle(bytes);
      const policy = await loadWasmPolicy(files.wasm, files.data);
      const kafka = createKafka({
        brokers: settings.kafkaBrokers,
        clientId: 'admin-simulation-e2e',
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const messages = [];
      for (let i = 0; i < 120; i += 1) {
        const zone = i % 10 === 0 ? 'other' : 'prod';
        const recorded = input(i % 3 === 0 ? ['write'] : ['read']);
        messages.push({
          key: zone,
          timestamp: String(recordedAt + i),
          value: JSON.stringify({
            decision_id: `dec-${i}`,
            zone_id: zone,
            revision: liveBundle?.revision,
            timestamp: recordedAt + i,
            input: recorded,
            result: policy.evaluate(recorded, 'caracal/authz/result'),
          }),
        });
      }
      await producer.send({ topic: topic.topic, acks: -1, messages });
      await producer.disconnect();
    });

    async function fetchBundle(sha: string): Promise<Uint8Array> {
      const address = (app.getHttpServer() as Server).address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${address.port}/v1/bundles/${sha}`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      assert.equal(response.status, 200);
      return new Uint8Array(await response.arrayBuffer());
    }

    const window = {
      from: new Date(recordedAt - 1_000).toISOString(),
      to: new Date(recordedAt + 10_000).toISOString(),
    };

    it('reports the impact and fails a gate that forbids deny → allow (plain JSON)', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        json: { window, gate: 'deny_to_allow=0' },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.match(answer.type, /^application\/json/);
      // 108 records of zone prod; 36 of them ask for write.
      assert.equal(answer.body.totals.evaluated, 108);
      assert.equal(answer.body.totals.deny_to_allow, 36);
      assert.equal(answer.body.totals.allow_to_deny, 0);
      assert.equal(answer.body.result, 'fail');
      assert.deepEqual(answer.body.gate.reasons, ['36 recorded denies would become allows']);
      const [group] = answer.body.top_groups;
      assert.equal(group?.resource, 'resource://api');
      assert.equal(group?.scopes, 'write');
      assert.equal(group?.change, 'deny_to_allow');
      assert.ok((group?.example_decision_ids.length ?? 0) > 0);
    });

    it('streams progress lines and ends with the result as NDJSON, and passes a gate the change meets', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        accept: 'application/x-ndjson',
        json: { window, gate: 'allow_to_deny<=0' },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.match(answer.type, /^application\/x-ndjson/);
      const lines = answer.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; result?: string; evaluated?: number });
      assert.ok(lines.length >= 2, answer.text);
      assert.ok(
        lines.slice(0, -1).every((line) => line.type === 'progress'),
        answer.text,
      );
      const last = lines.at(-1);
      assert.equal(last?.type, 'result');
      assert.equal(last?.result, 'pass');
    });

    it('limits a replay to max_samples', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        json: { max_samples: 30, gate: 'deny_to_allow=0' },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.totals.evaluated, 30);
    });

    it('says no recorded decisions for an empty window, never a pass', async () => {
      const answer = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        json: {
          window: { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' },
          gate: 'deny_to_allow=0',
        },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.result, 'no_data');
      assert.equal(answer.body.totals.evaluated, 0);
      assert.deepEqual(answer.body.gate.reasons, ['no recorded decisions in the window']);
    });

    it('answers 400 naming the field for a bad gate or a replay without bounds', async () => {
      const gate = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        json: { window, gate: 'deny_to_allow=0,banana' },
      });
      assert.equal(gate.status, 400, show(gate));
      assert.equal(gate.body.error.violations[0]?.field, 'gate[1]');
      const unbounded = await call('POST', `${sets}/${candidate.id}/replays`, {
        token: author,
        json: { gate: 'deny_to_allow=0' },
      });
      assert.equal(unbounded.status, 400, show(unbounded));
      assert.equal(unbounded.body.error.violations[0]?.field, 'window');
    });

    it('answers 404 for an unknown version and 409 for one that failed validation', async () => {
      const unknown = await call('POST', `${sets}/00000000-0000-4000-8000-000000000000/replays`, {
        token: author,
        json: { window },
      });
      assert.equal(unknown.status, 404, show(unknown));
      const invalid = await call('POST', `${sets}/${invalidVersion}/replays`, {
        token: author,
        accept: 'application/x-ndjson',
        json: { window },
      });
      assert.equal(invalid.status, 409, show(invalid));
      assert.match(invalid.body.error.message, /failed validation/);
    });
  });

  describe('expected cases of a policy set', () => {
    const path = '/v1/zones/prod/policy-sets/main/expected-cases';

    it('starts empty and refuses cases whose input breaks the policy-input schema, naming the field', async () => {
      const empty = await call('GET', path, { token: viewer });
      assert.equal(empty.status, 200, show(empty));
      assert.equal(empty.body.revision, 0);
      assert.deepEqual(empty.body.cases, []);
      const broken = input(['read']);
      delete broken['resource'];
      const refused = await call('PUT', path, {
        token: author,
        json: { cases: [{ name: 'no resource', input: broken, expected_decision: 'allow' }] },
      });
      assert.equal(refused.status, 400, show(refused));
      assert.equal(refused.body.error.violations[0]?.field, 'cases[0].input.resource');
      const noDecision = await call('PUT', path, {
        token: author,
        json: { cases: [{ name: 'read', input: input(['read']) }] },
      });
      assert.equal(noDecision.status, 400);
      assert.equal(noDecision.body.error.violations[0]?.field, 'cases[0].expected_decision');
      assert.equal((await call('PUT', path, { token: viewer, json: { cases: [] } })).status, 403);
    });

    it('stores them, and runs them on every new version of the set so a regression shows', async () => {
      const stored = await call('PUT', path, {
        token: author,
        json: {
          cases: [
            { name: 'read is allowed', input: input(['read']), expected_decision: 'allow' },
            { name: 'write stays denied', input: input(['write']), expected_decision: 'deny' },
            // More cases than the validator takes in one call: they run in batches.
            ...Array.from({ length: maxCases }, (_, i) => ({
              name: `read ${i}`,
              input: input(['read']),
              expected_decision: 'allow',
            })),
          ],
        },
      });
      assert.equal(stored.status, 200, show(stored));
      assert.equal(stored.body.revision, 1);
      const fetched = await call('GET', path, { token: viewer });
      assert.deepEqual(fetched.body.cases.map((item) => item.name).slice(0, 2), [
        'read is allowed',
        'write stays denied',
      ]);
      assert.equal(fetched.body.cases.length, 2 + maxCases);

      // A new version of the set whose policy grants write, which the cases forbid.
      const grantsWrite = await call('POST', '/v1/zones/prod/policies/read-write/versions', {
        token: author,
        json: {
          modules: [
            {
              path: 'policies/read-write.rego',
              source: readWriteRego.replaceAll('"read-write"', '"read-write-2"'),
            },
          ],
        },
      });
      assert.equal(grantsWrite.status, 201, show(grantsWrite));
      const regressing = await call('POST', sets, {
        token: author,
        json: { policy_version_ids: [grantsWrite.body.id] },
      });
      assert.equal(regressing.status, 201, show(regressing));
      assert.equal(regressing.body.expected_cases?.expected_cases_revision, 1);
      assert.deepEqual(regressing.body.expected_cases?.summary, {
        passed: 1 + maxCases,
        failed: 1,
        flipped: 0,
        invalid: 0,
      });
      const version = await call('GET', `${sets}/${regressing.body.id}`, { token: viewer });
      assert.equal(version.status, 200);
      assert.deepEqual(
        version.body.expected_cases?.results.map((result) => result.name),
        fetched.body.cases.map((item) => item.name),
      );
      const failed = version.body.expected_cases?.results.find((result) => !result.passed);
      assert.equal(failed?.name, 'write stays denied');
      assert.equal(failed?.candidate?.decision, 'allow');
      assert.notEqual(version.body.bundle_sha256, null);

      // Versions created before the cases existed show none.
      const older = await call('GET', `${sets}/${live.id}`, { token: viewer });
      assert.equal(older.body.expected_cases, null);
    });
  });

  it('documents the simulation routes in the OpenAPI document', async () => {
    const document = await call('GET', '/v1/openapi.json');
    const replay = document.body.paths['/v1/zones/{zone}/policy-sets/{set}/versions/{id}/replays'];
    assert.ok(replay?.['post']?.responses['200']?.content);
    assert.deepEqual(Object.keys(replay['post'].responses['200'].content ?? {}).sort(), [
      'application/json',
      'application/x-ndjson',
    ]);
    for (const status of ['400', '404', '409', '413', '503']) {
      assert.ok(
        document.body.paths['/v1/zones/{zone}/policy-sets/{set}/versions/{id}/simulations']?.[
          'post'
        ]?.responses[status],
        status,
      );
    }
    assert.ok(document.body.paths['/v1/zones/{zone}/policy-sets/{set}/expected-cases']?.['put']);
  });

  describe('with a dependency unreachable', () => {
    it('answers 503 when Kafka is unreachable', async () => {
      const offline = await startValidator(keyDir, topic.topic, '127.0.0.1:1');
      const other = await bootAdmin(database.url, offline.grpcAddress, coordinatorAddress);
      try {
        const answer = await other.call('POST', `${sets}/${candidate.id}/replays`, {
          token: author,
          accept: 'application/x-ndjson',
          json: { max_samples: 10 },
        });
        assert.equal(answer.status, 503, show(answer));
        assert.equal(answer.body.error.code, 'unavailable');
        assert.match(answer.body.error.message, /kafka/i);
      } finally {
        await other.app.close();
        await offline.process.stop();
      }
    });

    it('answers 503 when the activation coordinator is unreachable for a comparison against live', async () => {
      const other = await bootAdmin(
        database.url,
        validator.grpcAddress,
        `127.0.0.1:${await freePort()}`,
      );
      try {
        const answer = await other.call('POST', `${sets}/${candidate.id}/simulations`, {
          token: author,
          json: { cases, against_live: true },
        });
        assert.equal(answer.status, 503, show(answer));
        assert.equal(answer.body.error.details['dependency'], 'activation-coordinator');
      } finally {
        await other.app.close();
      }
    });

    it('answers 503 when the policy-validator is unreachable', async () => {
      const other = await bootAdmin(
        database.url,
        `127.0.0.1:${await freePort()}`,
        coordinatorAddress,
      );
      try {
        const answer = await other.call('POST', `${sets}/${candidate.id}/simulations`, {
          token: author,
          json: { cases },
        });
        assert.equal(answer.status, 503, show(answer));
      } finally {
        await other.app.close();
      }
    });
  });
});
