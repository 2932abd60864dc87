import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplication } from '@nestjs/common';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  startActivationCoordinator,
  startPolicyValidator,
  startRollbackController,
  uniqueName,
  type RunningService,
  type TestDatabase,
} from '@caracal-deploy/testing';

import { runCli } from '../cli.js';
import {
  bootAdmin,
  createRootToken,
  adminClient,
  type AdminAnswer,
  type ErrorJson,
} from '../test-support/admin-app.test-support.js';
import { baselineRego } from '../test-support/policies.js';

const settings = infraSettings();

/** An activation as the API returns it. */
interface ActivationJson {
  id: string;
  zone: string;
  policy_set_version_id: string;
  previous_policy_set_version_id: string | null;
  actor: string;
  reason: string;
  trigger: string;
  idempotency_key: string;
}

/** An activation's status as the API returns it. */
interface StatusJson {
  type?: string;
  activation: ActivationJson;
  state: string;
  terminal: boolean;
  live_replicas: number;
  serving_replicas: number;
  replicas: unknown[];
  laggards: string[];
  propagation_ms: number | null;
}

/** A rollback record as the API returns it. */
interface RollbackJson {
  id: string;
  zone: string;
  outcome: string;
  trigger: string;
  from_policy_set_version_id: string | null;
  to_policy_set_version_id: string | null;
  activation_id: string | null;
  actor: string;
  reason: string;
}

/** A deployment as the API returns it. */
interface DeploymentJson {
  id: string;
  state: string;
  terminal: boolean;
  policy_set_version_id: string;
  actor: string;
  preflight: { check: string; passed: boolean }[];
  stages: { name: string; zones: { zone: string }[] }[];
}

/** Every JSON field these tests read, typed once. */
interface Body {
  error: ErrorJson;
  id: string;
  token: string;
  sha256: string;
  activation: ActivationJson;
  replayed: boolean;
  state: string;
  terminal: boolean;
  live_replicas: number;
  replicas: unknown[];
  items: (StatusJson & RollbackJson & DeploymentJson)[];
  next_cursor: string | null;
  active: { policy_set_version_id: string; activation_id: string } | null;
  last_known_good: ActivationJson | null;
  rollback: RollbackJson;
  deployment: DeploymentJson;
  status: StatusJson | null;
  paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
}

type Answer = AdminAnswer<Body>;
const client = (baseUrl: string) => adminClient<Body>(baseUrl);

const show = (answer: Answer) => `HTTP ${answer.status}: ${answer.text.slice(0, 2000)}`;

/** Asserts a 400 whose violations name `field`. */
function assertBadField(answer: Answer, field: string): void {
  assert.equal(answer.status, 400, show(answer));
  assert.equal(answer.body.error.code, 'invalid_argument');
  assert.ok(
    answer.body.error.violations.some((violation) => violation.field === field),
    `expected a violation naming ${field}: ${show(answer)}`,
  );
}

describe('activation and rollback over the Admin API, with the real coordinator, rollback-controller, validator, PostgreSQL and Redis', () => {
  let registry: TestDatabase;
  let rollbackDatabase: TestDatabase;
  let keyDir = '';
  let validator: RunningService | undefined;
  let coordinator: RunningService | undefined;
  let rollbackController: RunningService | undefined;
  let app: INestApplication;
  let call: ReturnType<typeof client>;
  let admin = '';
  let author = '';
  let deployer = '';
  let viewer = '';
  // Zone names are unique so replicas other tests report in the shared Redis are never ours.
  const zone = uniqueName('act').replace(/_/g, '-');
  const otherZone = uniqueName('other').replace(/_/g, '-');
  const activations = `/v1/zones/${zone}/activations`;
  let first = '';
  let second = '';
  let unbuilt = '';
  let invalid = '';
  let firstActivation = '';
  let secondActivation = '';

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('redis', settings);
    await assertReachable('opa', settings);
    registry = await createTestDatabase(settings);
    rollbackDatabase = await createTestDatabase(settings);
    keyDir = mkdtempSync(join(tmpdir(), 'admin-activation-e2e-'));
    validator = await startPolicyValidator(settings, { keyDir, keyId: 'admin-activation-e2e' });
    // The registry's tables first; the coordinator adds its own beside them.
    assert.equal(await runCli(['migrate'], () => {}, { CARACAL_POSTGRES_URL: registry.url }), 0);
    // An activation nobody serves stalls after a second: the watch below then ends.
    coordinator = await startActivationCoordinator(settings, {
      databaseUrl: registry.url,
      env: { CARACAL_COORDINATOR_STALL_AFTER_MS: '1000' },
    });
    rollbackController = await startRollbackController({
      databaseUrl: rollbackDatabase.url,
      coordinatorAddress: coordinator.grpcAddress,
    });
    const booted = await bootAdmin({
      CARACAL_POSTGRES_URL: registry.url,
      CARACAL_VALIDATOR_ADDRESS: validator.grpcAddress,
      CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.grpcAddress,
      CARACAL_ROLLBACK_GRPC_ADDRESS: rollbackController.grpcAddress,
    });
    app = booted.app;
    call = client(booted.baseUrl);

    admin = await createRootToken(registry.url);
    const token = async (name: string, role: string) =>
      (await call('POST', '/v1/tokens', { token: admin, json: { name, role } })).body.token;
    author = await token('ci', 'author');
    deployer = await token('release', 'deployer');
    viewer = await token('dash', 'viewer');

    const created = async (path: string, json: unknown, token = admin) => {
      const answer = await call('POST', path, { token, json });
      assert.ok(answer.status === 201 || answer.status === 422, show(answer));
      return answer;
    };
    for (const name of [zone, otherZone]) await created('/v1/zones', { name });
    await created(`/v1/zones/${zone}/resources`, {
      identifier: 'resource://api',
      id: 'resource-1',
      type: 'http',
      scopes: ['read', 'write'],
      operations: ['read', 'write'],
    });
    const policy = async (name: string, source: string) => {
      await created(`/v1/zones/${zone}/policies`, { name }, author);
      return (
        await created(
          `/v1/zones/${zone}/policies/${name}/versions`,
          { modules: [{ path: `policies/${name}.rego`, source }] },
          author,
        )
      ).body.id;
    };
    const readOnly = await policy('read-only', baselineRego());
    const readWrite = await policy(
      'read-write',
      baselineRego('read-write').replace(
        '"read" in input.context.requested_scopes',
        'count(input.context.requested_scopes) > 0',
      ),
    );
    const extra = await policy('extra', baselineRego('extra'));
    await created(`/v1/zones/${zone}/policy-sets`, { name: 'main' }, author);
    const sets = `/v1/zones/${zone}/policy-sets/main/versions`;
    const version = async (ids: string[]) => {
      const answer = await created(sets, { policy_version_ids: ids }, author);
      return answer.status === 201
        ? answer.body.id
        : (answer.body.error.details['policy_set_version_id'] ?? '');
    };
    first = await version([readOnly]);
    second = await version([readWrite]);
    unbuilt = await version([extra]);
    // Two modules with `default allow` in one package: stored, but its verdict is invalid.
    invalid = await version([readOnly, extra]);
    for (const id of [first, second]) {
      const bundle = await call('POST', `${sets}/${id}/bundle`, { token: author });
      assert.equal(bundle.status, 201, show(bundle));
    }
  });

  after(async () => {
    await app?.close();
    await rollbackController?.process.stop();
    await coordinator?.process.stop();
    await validator?.process.stop();
    await rollbackDatabase?.drop();
    await registry?.drop();
    if (keyDir !== '') rmSync(keyDir, { recursive: true, force: true });
  });

  const activate = (
    json: Record<string, unknown>,
    headers: Record<string, string> = {},
    token = deployer,
  ) => call('POST', activations, { token, json, headers });

  describe('activation', () => {
    it('activates the first version when the caller expects none, recording who and why', async () => {
      const answer = await activate(
        { policy_set_version_id: first, expected_active_version_id: '', reason: 'first release' },
        { 'idempotency-key': 'release-1' },
      );
      assert.equal(answer.status, 201, show(answer));
      assert.equal(answer.body.replayed, false);
      const activation = answer.body.activation;
      firstActivation = activation.id;
      assert.equal(activation.zone, zone);
      assert.equal(activation.policy_set_version_id, first);
      assert.equal(activation.previous_policy_set_version_id, null);
      assert.equal(activation.actor, 'token:release');
      assert.equal(activation.reason, 'first release');
      assert.equal(activation.trigger, 'manual');
      assert.equal(activation.idempotency_key, 'release-1');
      assert.equal(answer.headers.get('location'), `${activations}/${activation.id}`);
    });

    it('answers a retry with the same key with the first activation (200, replayed)', async () => {
      const answer = await activate({
        policy_set_version_id: first,
        expected_active_version_id: '',
        reason: 'first release, retried',
        idempotency_key: 'release-1',
      });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.replayed, true);
      assert.equal(answer.body.activation.id, firstActivation);
      assert.equal(answer.body.activation.reason, 'first release');
    });

    it('refuses a stale expectation with 409 naming the version the zone serves', async () => {
      const answer = await activate(
        { policy_set_version_id: second, expected_active_version_id: '', reason: 'stale' },
        { 'idempotency-key': 'stale-1' },
      );
      assert.equal(answer.status, 409, show(answer));
      assert.equal(answer.body.error.code, 'failed_precondition');
      assert.equal(answer.body.error.details['current_active_version_id'], first);
      assert.match(answer.body.error.message, new RegExp(first));
    });

    it('activates the second version over the first with the right expectation', async () => {
      const answer = await activate(
        { policy_set_version_id: second, expected_active_version_id: first, reason: 'widen' },
        { 'idempotency-key': 'release-2' },
      );
      assert.equal(answer.status, 201, show(answer));
      secondActivation = answer.body.activation.id;
      assert.equal(answer.body.activation.previous_policy_set_version_id, first);
    });

    it('refuses a version whose verdict is not valid, or that has no bundle, with 409', async () => {
      for (const id of [invalid, unbuilt]) {
        const answer = await activate(
          { policy_set_version_id: id, expected_active_version_id: second, reason: 'try' },
          { 'idempotency-key': `refused-${id}` },
        );
        assert.equal(answer.status, 409, show(answer));
        assert.equal(answer.body.error.details['policy_set_version_id'], id);
      }
    });

    it('answers 404 for an unknown version, zone or activation', async () => {
      const unknownVersion = await activate(
        { policy_set_version_id: randomUUID(), expected_active_version_id: second, reason: 'x' },
        { 'idempotency-key': 'unknown-version' },
      );
      assert.equal(unknownVersion.status, 404, show(unknownVersion));
      const unknownZone = await call('POST', '/v1/zones/no-such-zone/activations', {
        token: deployer,
        json: { policy_set_version_id: first, expected_active_version_id: '', reason: 'x' },
        headers: { 'idempotency-key': 'unknown-zone' },
      });
      assert.equal(unknownZone.status, 404, show(unknownZone));
      const unknownActivation = await call('GET', `${activations}/${randomUUID()}`, {
        token: viewer,
      });
      assert.equal(unknownActivation.status, 404, show(unknownActivation));
      const elsewhere = await call(
        'GET',
        `/v1/zones/${otherZone}/activations/${secondActivation}`,
        { token: viewer },
      );
      assert.equal(elsewhere.status, 404, show(elsewhere));
    });

    it('answers 400 naming the field for every malformed request', async () => {
      const valid = {
        policy_set_version_id: second,
        expected_active_version_id: second,
        reason: 'r',
      };
      const key = { 'idempotency-key': 'malformed' };
      assertBadField(
        await activate({ ...valid, policy_set_version_id: 'v2' }, key),
        'policy_set_version_id',
      );
      const { expected_active_version_id: _missing, ...withoutExpected } = valid;
      assertBadField(await activate(withoutExpected, key), 'expected_active_version_id');
      assertBadField(
        await activate({ ...valid, expected_active_version_id: 'latest' }, key),
        'expected_active_version_id',
      );
      assertBadField(await activate({ ...valid, reason: '  ' }, key), 'reason');
      assertBadField(await activate({ ...valid, force: true }, key), 'body');
      assertBadField(await activate(valid), 'idempotency_key');
      assertBadField(
        await activate({ ...valid, idempotency_key: 'one' }, { 'idempotency-key': 'other' }),
        'idempotency_key',
      );
      assertBadField(await activate(valid, { 'idempotency-key': ' ' }), 'Idempotency-Key');
      // The key of another activation cannot be reused for a different version.
      assertBadField(
        await activate(
          { ...valid, policy_set_version_id: first },
          { 'idempotency-key': 'release-2' },
        ),
        'idempotency_key',
      );
      assertBadField(
        await call('GET', `${activations}/not-a-uuid`, { token: viewer }),
        'activation',
      );
      assertBadField(await call('GET', `${activations}?limit=0`, { token: viewer }), 'limit');
      assertBadField(await call('GET', `${activations}?cursor=zz`, { token: viewer }), 'cursor');
    });

    it('lets only deployers and admins activate, and viewers read', async () => {
      const body = {
        policy_set_version_id: first,
        expected_active_version_id: second,
        reason: 'r',
      };
      const headers = { 'idempotency-key': 'roles' };
      assert.equal((await activate(body, headers, viewer)).status, 403);
      assert.equal((await activate(body, headers, author)).status, 403);
      assert.equal((await call('POST', activations, { json: body, headers })).status, 401);
      assert.equal((await call('GET', `${activations}/${firstActivation}`)).status, 401);
      assert.equal((await call('GET', `/v1/zones/${zone}/binding`, { token: viewer })).status, 200);
    });

    it('reports the status with zero replicas as the coordinator judges it, and watches it to a final state', async () => {
      const status = await call('GET', `${activations}/${secondActivation}`, { token: viewer });
      assert.equal(status.status, 200, show(status));
      assert.equal(status.body.live_replicas, 0);
      assert.deepEqual(status.body.replicas, []);
      // Nobody serves the zone: never converged; stalled once the coordinator's stall time passed.
      assert.ok(['dispatching', 'converging', 'stalled'].includes(status.body.state), show(status));

      const watch = await call('GET', `${activations}/${secondActivation}/watch`, {
        token: viewer,
      });
      assert.equal(watch.status, 200, show(watch));
      assert.match(watch.type, /^application\/x-ndjson/);
      const lines = watch.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as StatusJson);
      assert.ok(lines.length >= 1);
      assert.ok(
        lines.every((line) => line.type === 'status' && line.activation.id === secondActivation),
      );
      const last = lines.at(-1);
      assert.equal(last?.state, 'stalled', watch.text);
      assert.equal(last?.terminal, true);
      assert.equal(last?.live_replicas, 0);
      assert.equal(last?.propagation_ms, null);
      assert.ok(
        lines.slice(0, -1).every((line) => !line.terminal),
        watch.text,
      );

      const superseded = await call('GET', `${activations}/${firstActivation}`, { token: viewer });
      assert.equal(superseded.body.state, 'superseded', show(superseded));
      // A watch of an activation already final answers that state once and ends.
      const ended = await call('GET', `${activations}/${firstActivation}/watch`, { token: viewer });
      assert.equal(ended.status, 200, show(ended));
      const endedLines = ended.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as StatusJson);
      assert.deepEqual(
        endedLines.map((line) => [line.state, line.terminal]),
        [['superseded', true]],
      );
    });

    it("pages the zone's history newest first", async () => {
      const page = await call('GET', `${activations}?limit=1`, { token: viewer });
      assert.equal(page.status, 200, show(page));
      assert.deepEqual(
        page.body.items.map((item) => item.activation.id),
        [secondActivation],
      );
      assert.ok(page.body.next_cursor !== null);
      const next = await call(
        'GET',
        `${activations}?limit=1&cursor=${encodeURIComponent(page.body.next_cursor)}`,
        { token: viewer },
      );
      assert.equal(next.status, 200, show(next));
      assert.deepEqual(
        next.body.items.map((item) => [item.activation.id, item.state]),
        [[firstActivation, 'superseded']],
      );
      assert.equal(next.body.next_cursor, null);
      const empty = await call('GET', `/v1/zones/${otherZone}/activations`, { token: viewer });
      assert.deepEqual(empty.body.items, [], show(empty));
    });

    it('names the active binding and the last known good version', async () => {
      const answer = await call('GET', `/v1/zones/${zone}/binding`, { token: viewer });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.active?.policy_set_version_id, second);
      assert.equal(answer.body.active?.activation_id, secondActivation);
      assert.equal(answer.body.last_known_good?.policy_set_version_id, first);
      const none = await call('GET', `/v1/zones/${otherZone}/binding`, { token: viewer });
      assert.equal(none.status, 200, show(none));
      assert.equal(none.body.active, null);
      assert.equal(none.body.last_known_good, null);
    });
  });

  describe('rollback', () => {
    const rollbacks = `/v1/zones/${zone}/rollbacks`;
    let rollbackId = '';

    it('refuses malformed requests, naming the field, and unknown zones', async () => {
      const post = (json: unknown, token = deployer) => call('POST', rollbacks, { token, json });
      assertBadField(await post({}), 'reason');
      assertBadField(await post({ reason: 'r', wait: 'yes' }), 'wait');
      assertBadField(
        await post({ reason: 'r', expected_active_version_id: 'v2' }),
        'expected_active_version_id',
      );
      assertBadField(await post({ reason: 'r', to: first }), 'body');
      assert.equal((await post({ reason: 'r' }, author)).status, 403);
      const unknown = await call('POST', '/v1/zones/no-such-zone/rollbacks', {
        token: deployer,
        json: { reason: 'r' },
      });
      assert.equal(unknown.status, 404, show(unknown));
      assertBadField(await call('GET', '/v1/rollbacks?zone=Not_A_Zone', { token: viewer }), 'zone');
      assertBadField(await call('GET', '/v1/rollbacks?cursor=zz', { token: viewer }), 'cursor');
    });

    it('refuses to roll back a zone that has nothing active with 409', async () => {
      const answer = await call('POST', `/v1/zones/${otherZone}/rollbacks`, {
        token: deployer,
        json: { reason: 'nothing to undo' },
      });
      assert.equal(answer.status, 409, show(answer));
    });

    it('rolls the zone back to its last known good version and waits for a final state', async () => {
      const answer = await call('POST', rollbacks, {
        token: deployer,
        json: { reason: 'errors after widen', expected_active_version_id: second, wait: true },
        headers: { 'idempotency-key': 'undo-widen' },
      });
      assert.equal(answer.status, 201, show(answer));
      const record = answer.body.rollback;
      rollbackId = record.id;
      assert.equal(record.outcome, 'rolled_back');
      assert.equal(record.trigger, 'rollback_manual');
      assert.equal(record.from_policy_set_version_id, second);
      assert.equal(record.to_policy_set_version_id, first);
      assert.equal(record.actor, 'token:release');
      assert.ok(record.activation_id !== null);
      assert.equal(answer.body.status?.activation.id, record.activation_id);
      assert.equal(answer.body.status?.terminal, true, show(answer));

      const binding = await call('GET', `/v1/zones/${zone}/binding`, { token: viewer });
      assert.equal(binding.body.active?.policy_set_version_id, first);
      const history = await call('GET', activations, { token: viewer });
      assert.deepEqual(
        history.body.items.map((item) => [
          item.activation.policy_set_version_id,
          item.activation.trigger,
        ]),
        [
          [first, 'rollback_manual'],
          [second, 'manual'],
          [first, 'manual'],
        ],
      );
    });

    it('answers a retry with the same key with the first record, changing nothing', async () => {
      const answer = await call('POST', rollbacks, {
        token: deployer,
        json: { reason: 'errors after widen', idempotency_key: 'undo-widen' },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.rollback.id, rollbackId);
      assert.equal(answer.body.rollback.outcome, 'duplicate');
      const binding = await call('GET', `/v1/zones/${zone}/binding`, { token: viewer });
      assert.equal(binding.body.active?.policy_set_version_id, first);
    });

    it('skips a rollback about a version the zone no longer serves', async () => {
      const answer = await call('POST', rollbacks, {
        token: deployer,
        json: { reason: 'late alert about widen', expected_active_version_id: second },
      });
      assert.equal(answer.status, 200, show(answer));
      assert.equal(answer.body.rollback.outcome, 'skipped_not_active');
      assert.equal(answer.body.status, null);
    });

    it('lists rollbacks per zone and for every zone, newest first', async () => {
      const perZone = await call('GET', rollbacks, { token: viewer });
      assert.equal(perZone.status, 200, show(perZone));
      assert.deepEqual(
        perZone.body.items.map((item) => item.outcome),
        ['skipped_not_active', 'rolled_back'],
      );
      const filtered = await call('GET', `/v1/rollbacks?zone=${zone}&limit=1`, { token: viewer });
      assert.equal(filtered.body.items.length, 1, show(filtered));
      assert.ok(filtered.body.next_cursor !== null);
      const rest = await call(
        'GET',
        `/v1/rollbacks?zone=${zone}&limit=1&cursor=${encodeURIComponent(filtered.body.next_cursor)}`,
        { token: viewer },
      );
      assert.deepEqual(
        rest.body.items.map((item) => item.id),
        [rollbackId],
        show(rest),
      );
      const all = await call('GET', '/v1/rollbacks', { token: viewer });
      assert.ok(
        all.body.items.some((item) => item.id === rollbackId),
        show(all),
      );
      const other = await call('GET', `/v1/zones/${otherZone}/rollbacks`, { token: viewer });
      assert.deepEqual(other.body.items, [], show(other));
    });
  });

  describe('deployments', () => {
    const stages = (zones: string[][]) =>
      zones.map((names, index) => ({ name: `stage-${index}`, zones: names, regions: ['eu'] }));
    const valid = () => ({
      policy_set_version_id: second,
      stages: stages([[zone]]),
      reason: 'widen read access',
    });
    const post = (json: unknown, headers: Record<string, string> = {}, token = deployer) =>
      call('POST', '/v1/deployments', { token, json, headers });
    const key = { 'idempotency-key': 'deploy-widen' };

    it('refuses every malformed deployment, naming the exact field', async () => {
      assertBadField(
        await post({ ...valid(), stages: stages([[zone], [otherZone, 'Bad_Zone']]) }, key),
        'stages[1].zones[1]',
      );
      assertBadField(
        await post({ ...valid(), stages: stages([[zone], [zone]]) }, key),
        'stages[1].zones[0]',
      );
      // Well-formed, but the registry has no such zone.
      const unknown = await post({ ...valid(), stages: stages([[zone], ['no-such-zone']]) }, key);
      assertBadField(unknown, 'stages[1].zones[0]');
      assert.match(unknown.body.error.message, /no zone named "no-such-zone"/);
      assertBadField(await post({ ...valid(), stages: [] }, key), 'stages');
      assertBadField(
        await post({ ...valid(), stages: [{ name: 'canary', zones: [zone] }] }, key),
        'stages[0].regions',
      );
      assertBadField(
        await post(
          {
            ...valid(),
            stages: [{ name: 'canary', zones: [zone], regions: ['eu'], bake_seconds: -1 }],
          },
          key,
        ),
        'stages[0].bake_seconds',
      );
      assertBadField(
        await post(
          {
            ...valid(),
            stages: [
              {
                name: 'canary',
                zones: [zone],
                regions: ['eu'],
                gates: { max_transport_error_ratio: 1.5 },
              },
            ],
          },
          key,
        ),
        'stages[0].gates.max_transport_error_ratio',
      );
      assertBadField(
        await post(
          { ...valid(), zone_versions: [{ zone: otherZone, policy_set_version_id: first }] },
          key,
        ),
        'zone_versions[0].zone',
      );
      assertBadField(
        await post({ ...valid(), accept_no_rollback_zones: [otherZone] }, key),
        'accept_no_rollback_zones[0]',
      );
      assertBadField(
        await post({ ...valid(), policy_set_version_id: 'v2' }, key),
        'policy_set_version_id',
      );
      assertBadField(await post({ ...valid(), reason: '' }, key), 'reason');
      assertBadField(await post(valid()), 'idempotency_key');
      assertBadField(await call('GET', '/v1/deployments/latest', { token: viewer }), 'deployment');
      assertBadField(
        await call('GET', `/v1/deployments/${randomUUID()}/watch?after_seq=-1`, { token: viewer }),
        'after_seq',
      );
      assertBadField(
        await call('POST', `/v1/deployments/${randomUUID()}/abort`, {
          token: deployer,
          json: { reason: 'r', roll_back: 'yes' },
        }),
        'roll_back',
      );
      const unknownZone = await call('GET', '/v1/deployments?zone=no-such-zone', { token: viewer });
      assert.equal(unknownZone.status, 404, show(unknownZone));
    });

    it('lets only deployers and admins deploy, pause, resume and abort', async () => {
      assert.equal((await post(valid(), key, viewer)).status, 403);
      assert.equal((await post(valid(), key, author)).status, 403);
      for (const action of ['pause', 'resume', 'abort']) {
        const answer = await call('POST', `/v1/deployments/${randomUUID()}/${action}`, {
          token: author,
          json: { reason: 'r' },
        });
        assert.equal(answer.status, 403, `${action}: ${show(answer)}`);
      }
    });

    it('records a deployment whose pre-flight fails (no live replica) as failed, replays it by key, lists it, watches it to its end and refuses to pause it', async () => {
      const created = await post(valid(), key);
      assert.equal(created.status, 201, show(created));
      const deployment = created.body.deployment;
      assert.equal(deployment.policy_set_version_id, second);
      assert.equal(deployment.actor, 'token:release');
      assert.deepEqual(
        deployment.stages.map((stage) => [stage.name, stage.zones.map((entry) => entry.zone)]),
        [['stage-0', [zone]]],
      );
      assert.equal(created.headers.get('location'), `/v1/deployments/${deployment.id}`);
      // Nothing is touched when a pre-flight check fails: here no STS replica serves the zone.
      assert.equal(deployment.state, 'failed');
      assert.equal(deployment.terminal, true);
      assert.ok(
        deployment.preflight.some((check) => check.check === 'replicas_ready' && !check.passed),
        JSON.stringify(deployment.preflight),
      );
      const replay = await post(valid(), key);
      assert.equal(replay.status, 200, show(replay));
      assert.equal(replay.body.replayed, true);
      assert.equal(replay.body.deployment.id, deployment.id);

      const got = await call('GET', `/v1/deployments/${deployment.id}`, { token: viewer });
      assert.equal(got.status, 200, show(got));
      assert.equal(got.body.id, deployment.id);
      const listed = await call('GET', `/v1/deployments?zone=${zone}`, { token: viewer });
      assert.ok(
        listed.body.items.some((item) => item.id === deployment.id),
        show(listed),
      );
      const elsewhere = await call('GET', `/v1/deployments?zone=${otherZone}`, { token: viewer });
      assert.ok(!elsewhere.body.items.some((item) => item.id === deployment.id), show(elsewhere));

      const watch = await call('GET', `/v1/deployments/${deployment.id}/watch`, { token: viewer });
      assert.equal(watch.status, 200, show(watch));
      assert.match(watch.type, /^application\/x-ndjson/);
      const lines = watch.text
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              type: string;
              event: { seq: number; kind: string };
              deployment: DeploymentJson;
            },
        );
      assert.ok(
        lines.every((line) => line.type === 'event'),
        watch.text,
      );
      assert.ok(
        lines.some((line) => line.event.kind === 'preflight_check'),
        watch.text,
      );
      assert.equal(lines.at(-1)?.event.kind, 'deployment_ended', watch.text);
      assert.equal(lines.at(-1)?.deployment.state, 'failed', watch.text);
      // Resuming after the last event seen: only what came later, here nothing.
      const lastSeq = lines.at(-1)?.event.seq ?? 0;
      const rest = await call(
        'GET',
        `/v1/deployments/${deployment.id}/watch?after_seq=${lastSeq}`,
        {
          token: viewer,
        },
      );
      assert.equal(rest.status, 200, show(rest));
      assert.equal(rest.text, '');

      for (const action of ['pause', 'abort']) {
        const late = await call('POST', `/v1/deployments/${deployment.id}/${action}`, {
          token: deployer,
          json: { reason: 'too late' },
        });
        assert.equal(late.status, 409, `${action}: ${show(late)}`);
      }
      const missing = await call('GET', `/v1/deployments/${randomUUID()}`, { token: viewer });
      assert.equal(missing.status, 404, show(missing));
    });
  });

  describe('the OpenAPI document', () => {
    it('documents the activation and rollback routes, the watch as NDJSON', async () => {
      const answer = await call('GET', '/v1/openapi.json');
      const paths = answer.body.paths;
      assert.ok(paths['/v1/zones/{zone}/activations']?.['post']);
      assert.ok(paths['/v1/zones/{zone}/rollbacks']?.['post']);
      assert.ok(paths['/v1/rollbacks']?.['get']);
      assert.ok(paths['/v1/deployments']?.['post']);
      assert.ok(paths['/v1/deployments/{deployment}/abort']?.['post']);
      const watch = paths['/v1/zones/{zone}/activations/{activation}/watch']?.['get'];
      assert.ok(watch?.responses['200']?.content);
      assert.ok('application/x-ndjson' in (watch?.responses['200']?.content ?? {}));
    });
  });

  describe('dependencies down', () => {
    it('answers 503 naming the rollback-controller when it is down', async () => {
      await rollbackController?.process.stop();
      const answer = await call('GET', '/v1/rollbacks', { token: viewer });
      assert.equal(answer.status, 503, show(answer));
      assert.equal(answer.body.error.details['dependency'], 'rollback-controller');
    });

    it('answers 503 naming the coordinator when it is down, and changes nothing', async () => {
      await coordinator?.process.stop();
      const reads = [
        `/v1/zones/${zone}/binding`,
        activations,
        `${activations}/${secondActivation}`,
        `${activations}/${secondActivation}/watch`,
      ];
      for (const path of reads) {
        const answer = await call('GET', path, { token: viewer });
        assert.equal(answer.status, 503, `${path}: ${show(answer)}`);
        assert.equal(answer.body.error.details['dependency'], 'activation-coordinator');
      }
      const write = await activate(
        { policy_set_version_id: second, expected_active_version_id: first, reason: 'while down' },
        { 'idempotency-key': 'while-down' },
      );
      assert.equal(write.status, 503, show(write));
      assert.equal(write.body.error.details['dependency'], 'activation-coordinator');
      const deploy = await call('POST', '/v1/deployments', {
        token: deployer,
        json: {
          policy_set_version_id: second,
          stages: [{ name: 'canary', zones: [zone], regions: ['eu'] }],
          reason: 'r',
        },
        headers: { 'idempotency-key': 'deploy-while-down' },
      });
      assert.equal(deploy.status, 503, show(deploy));
      assert.equal(deploy.body.error.details['dependency'], 'activation-coordinator');
    });
  });
});
