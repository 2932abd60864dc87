import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import type { INestApplication } from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import {
  ActivateRequestSchema,
  ActivationState,
  ActivationTrigger,
  HealthService,
  RollbackOutcome,
  RollbackService,
  ServingStatus,
} from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@caracal-deploy/errors';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  uniqueName,
  waitFor,
  type TestDatabase,
} from '@caracal-deploy/testing';
import { ActivationLedger, ActivationStandIn } from '@caracal-deploy/stand-ins';

import { loadRollbackConfig } from './config/rollback.config.js';
import { createRollbackApp } from './rollback-app.js';
import { alertmanagerBody, grafanaBody, testAlert } from './test-support/payloads.js';
import { grafanaSignature } from './webhooks/webhook-auth.js';

const settings = infraSettings();
const token = 'rollback-e2e-webhook-token';
const hmacSecret = 'rollback-e2e-grafana-secret';

/** Every JSON field these tests read from webhook answers. */
interface WebhookBody {
  error: {
    code: string;
    message: string;
    violations: { field: string; problem: string }[];
    details: Record<string, string>;
  };
  alerts: {
    fingerprint: string;
    zone: string | null;
    action: string;
    rollback?: { outcome: string; to_policy_set_version_id: string; trigger: string };
  }[];
}

interface Answer {
  status: number;
  body: WebhookBody;
}

describe('rollback-controller with PostgreSQL and an ActivationService stand-in', () => {
  let database: TestDatabase;
  let ledger: ActivationLedger;
  let coordinator: ActivationStandIn;
  let app: INestApplication;
  let base = '';
  let metricsUrl = '';
  let rollbacks: GrpcClient<typeof RollbackService>;
  let health: GrpcClient<typeof HealthService>;

  /** Posts `body` to a receiver; `auth` false sends no token, a string sends that token. */
  async function post(
    path: 'alertmanager' | 'grafana',
    body: unknown,
    options: {
      auth?: string | false;
      headers?: Record<string, string>;
      raw?: string;
      to?: string;
    } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...options.headers,
    };
    if (options.auth !== false) headers['authorization'] = `Bearer ${options.auth ?? token}`;
    const response = await fetch(`${options.to ?? base}/v1/webhooks/${path}`, {
      method: 'POST',
      headers,
      body: options.raw ?? JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as WebhookBody };
  }

  function seed(prefix: string, versions: number): { zone: string; v: string[] } {
    const zone = uniqueName(prefix).replaceAll('_', '-');
    const v = Array.from({ length: versions }, (_, index) => `${zone}-v${index + 1}`);
    ledger.seedZone(zone, v);
    return { zone, v };
  }

  function activateCallsFor(zone: string): number {
    return ledger.activateCalls.filter((call) => call.zoneId === zone).length;
  }

  async function recordsOf(zone: string) {
    return (await rollbacks.listRollbacks({ zoneId: zone, pageSize: 100 })).rollbacks;
  }

  async function rollbacksCounted(trigger: string): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const match = new RegExp(
      `^caracal_rollbacks_total\\{[^}]*trigger="${trigger}"[^}]*\\} (\\d+)$`,
      'm',
    ).exec(text);
    assert.ok(match, `caracal_rollbacks_total{trigger="${trigger}"} missing from /metrics`);
    return Number(match[1]);
  }

  function describeAnswer(answer: Answer): string {
    return `HTTP ${answer.status}: ${JSON.stringify(answer.body)}`;
  }

  /** Boots one controller replica on ephemeral ports against the test database. */
  async function boot(): Promise<{ app: INestApplication; base: string }> {
    const config = loadRollbackConfig({
      CARACAL_ROLLBACK_POSTGRES_URL: database.url,
      CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.address,
      CARACAL_ROLLBACK_HTTP_PORT: '0',
      CARACAL_ROLLBACK_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_ROLLBACK_METRICS_PORT: '0',
      CARACAL_ROLLBACK_WEBHOOK_TOKEN: token,
      CARACAL_ROLLBACK_GRAFANA_HMAC_SECRET: hmacSecret,
      CARACAL_ROLLBACK_COORDINATOR_TIMEOUT_MS: '2000',
      CARACAL_ROLLBACK_MAX_BODY_BYTES: '65536',
    });
    const replica = await createRollbackApp(config, { logger: false });
    await replica.listen(0, '127.0.0.1');
    const { port } = (replica.getHttpServer() as Server).address() as AddressInfo;
    return { app: replica, base: `http://127.0.0.1:${port}` };
  }

  before(async () => {
    await assertReachable('postgres', settings);
    database = await createTestDatabase(settings);
    ledger = new ActivationLedger();
    coordinator = new ActivationStandIn(ledger.handlers);
    await coordinator.listen();
    ({ app, base } = await boot());
    metricsUrl = `http://127.0.0.1:${app.get(MetricsServerHost).port}/metrics`;
    const grpcAddress = `127.0.0.1:${app.get(GrpcServerHost).port}`;
    rollbacks = createGrpcClient(RollbackService, grpcAddress, { defaultTimeoutMs: 10_000 });
    health = createGrpcClient(HealthService, grpcAddress, { defaultTimeoutMs: 10_000 });
  });

  after(async () => {
    rollbacks?.close();
    health?.close();
    await app?.close();
    await coordinator?.close();
    await database?.drop();
  });

  it('reports SERVING with PostgreSQL and the coordinator reachable', async () => {
    const result = await health.check({ components: [] });
    const outcomes = result.components.map(
      (component) =>
        `${component.name}: ${component.outcome.case === 'unhealthy' ? component.outcome.value.reason : 'healthy'}`,
    );
    assert.equal(result.status, ServingStatus.SERVING, outcomes.join('; '));
    assert.deepEqual(
      result.components.map((component) => component.name),
      ['postgres', 'activation-coordinator'],
    );
  });

  it('rolls a zone back to its last known good version when an Alertmanager alert about its active version fires', async () => {
    const { zone, v } = seed('am_fire', 2);
    const before = await rollbacksCounted('alert');
    const answer = await post(
      'alertmanager',
      alertmanagerBody([testAlert(zone, { labels: { policy_set_version_id: v[1]! } })]),
    );
    assert.equal(answer.status, 200, describeAnswer(answer));
    assert.equal(answer.body.alerts[0]?.rollback?.outcome, 'rolled_back');
    assert.equal(answer.body.alerts[0]?.rollback?.to_policy_set_version_id, v[0]);
    assert.equal(ledger.activeVersion(zone), v[0]);

    const activation = ledger.activations(zone).at(-1);
    assert.equal(activation?.trigger, ActivationTrigger.ROLLBACK_ALERT);
    assert.equal(activation?.previousPolicySetVersionId, v[1]);
    assert.match(activation?.idempotencyKey ?? '', /^rollback:alertmanager:[0-9a-f]{64}$/);

    const [record, ...rest] = await recordsOf(zone);
    assert.equal(rest.length, 0);
    assert.equal(record?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(record?.trigger, ActivationTrigger.ROLLBACK_ALERT);
    assert.equal(record?.fromPolicySetVersionId, v[1]);
    assert.equal(record?.toPolicySetVersionId, v[0]);
    assert.equal(record?.activationId, activation?.activationId);
    assert.equal(record?.triggerDetails['alertname'], 'CaracalStsPolicyStale');
    assert.match(record?.triggerDetails['fingerprint'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(record?.triggerDetails['policy_set_version_id'], v[1]);
    assert.equal(record?.triggerDetails['source'], 'alertmanager');
    assert.equal(await rollbacksCounted('alert'), before + 1);
  });

  it('rolls back exactly once under concurrent duplicate deliveries (HA pair and retries)', async () => {
    const { zone, v } = seed('am_dup', 3);
    const body = alertmanagerBody([testAlert(zone)]);
    const before = await rollbacksCounted('alert');
    const answers = await Promise.all(Array.from({ length: 8 }, () => post('alertmanager', body)));
    for (const answer of answers) assert.equal(answer.status, 200, describeAnswer(answer));
    const outcomes = answers.map((answer) => answer.body.alerts[0]?.rollback?.outcome);
    assert.equal(
      outcomes.filter((outcome) => outcome === 'rolled_back').length,
      1,
      String(outcomes),
    );
    assert.equal(outcomes.filter((outcome) => outcome === 'duplicate').length, 7, String(outcomes));
    assert.equal(activateCallsFor(zone), 1);
    assert.equal(ledger.activeVersion(zone), v[1]);
    assert.equal((await recordsOf(zone)).length, 1);
    assert.equal(await rollbacksCounted('alert'), before + 1);

    const retry = await post('alertmanager', body);
    assert.equal(retry.body.alerts[0]?.rollback?.outcome, 'duplicate');
    assert.equal(activateCallsFor(zone), 1);
  });

  it('rolls back exactly once when duplicates reach two controller replicas at once', async () => {
    const { zone, v } = seed('am_replicas', 3);
    const second = await boot();
    try {
      const body = alertmanagerBody([testAlert(zone)]);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          post('alertmanager', body, index % 2 === 0 ? {} : { to: second.base }),
        ),
      );
      for (const answer of answers) assert.equal(answer.status, 200, describeAnswer(answer));
      const outcomes = answers.map((answer) => answer.body.alerts[0]?.rollback?.outcome);
      assert.equal(
        outcomes.filter((outcome) => outcome === 'rolled_back').length,
        1,
        String(outcomes),
      );
      assert.equal(activateCallsFor(zone), 1);
      assert.equal(ledger.activeVersion(zone), v[1]);
      assert.equal((await recordsOf(zone)).length, 1);
    } finally {
      await second.app.close();
    }
  });

  it('skips, and records, a new firing of the alert within the cooldown', async () => {
    const { zone, v } = seed('am_cool', 3);
    const first = await post('alertmanager', alertmanagerBody([testAlert(zone)]));
    assert.equal(first.body.alerts[0]?.rollback?.outcome, 'rolled_back', describeAnswer(first));
    const again = await post(
      'alertmanager',
      alertmanagerBody([testAlert(zone, { startsAt: '2026-12-01T05:07:00Z' })]),
    );
    assert.equal(again.status, 200, describeAnswer(again));
    assert.equal(again.body.alerts[0]?.rollback?.outcome, 'skipped_cooldown');
    assert.equal(ledger.activeVersion(zone), v[1]);
    assert.equal(activateCallsFor(zone), 1);
    const records = await recordsOf(zone);
    assert.deepEqual(
      records.map((record) => record.outcome),
      [RollbackOutcome.SKIPPED_COOLDOWN, RollbackOutcome.ROLLED_BACK],
    );
    assert.equal(records[0]?.toPolicySetVersionId, '');
    assert.equal(records[0]?.triggerDetails['cooldown_after_rollback_id'], records[1]?.rollbackId);
  });

  it('does nothing for resolved notifications', async () => {
    const { zone, v } = seed('am_resolved', 2);
    const answer = await post(
      'alertmanager',
      alertmanagerBody([testAlert(zone, { status: 'resolved', endsAt: '2026-12-01T05:05:00Z' })]),
    );
    assert.equal(answer.status, 200, describeAnswer(answer));
    assert.equal(answer.body.alerts[0]?.action, 'ignored_resolved');
    assert.equal(ledger.activeVersion(zone), v[1]);
    assert.equal(activateCallsFor(zone), 0);
    assert.equal((await recordsOf(zone)).length, 0);
  });

  it('never rolls back a zone whose active version or activation is not the one the alert is about', async () => {
    const { zone, v } = seed('am_wrong', 3);
    const byVersion = await post(
      'alertmanager',
      alertmanagerBody([testAlert(zone, { labels: { policy_set_version_id: v[1]! } })]),
    );
    assert.equal(byVersion.status, 200, describeAnswer(byVersion));
    assert.equal(byVersion.body.alerts[0]?.rollback?.outcome, 'skipped_not_active');
    const byActivation = await post(
      'alertmanager',
      alertmanagerBody([
        testAlert(zone, { fingerprint: 'b0b0', labels: { activation_id: 'not-the-active-one' } }),
      ]),
    );
    assert.equal(byActivation.body.alerts[0]?.rollback?.outcome, 'skipped_not_active');
    assert.equal(ledger.activeVersion(zone), v[2]);
    assert.equal(activateCallsFor(zone), 0);
    assert.deepEqual(
      (await recordsOf(zone)).map((record) => record.outcome),
      [RollbackOutcome.SKIPPED_NOT_ACTIVE, RollbackOutcome.SKIPPED_NOT_ACTIVE],
    );
  });

  it('answers 401, 400, 413 and 404 for unauthenticated, malformed, oversized and unknown-zone webhooks, changing nothing', async () => {
    const { zone, v } = seed('am_bad', 2);
    const body = alertmanagerBody([testAlert(zone)]);

    const anonymous = await post('alertmanager', body, { auth: false });
    assert.equal(anonymous.status, 401, describeAnswer(anonymous));
    assert.equal(anonymous.body.error.code, 'unauthenticated');
    const wrong = await post('alertmanager', body, { auth: 'not-the-webhook-token' });
    assert.equal(wrong.status, 401, describeAnswer(wrong));
    const anonymousGarbage = await post('alertmanager', undefined, { auth: false, raw: '{nope' });
    assert.equal(anonymousGarbage.status, 401, 'authentication is checked before the body is read');

    const { groupKey: _dropped, ...withoutGroupKey } = body;
    const missing = await post('alertmanager', withoutGroupKey);
    assert.equal(missing.status, 400, describeAnswer(missing));
    assert.equal(missing.body.error.code, 'invalid_argument');
    assert.deepEqual(
      missing.body.error.violations.map((violation) => violation.field),
      ['groupKey'],
    );
    const badAlert = await post('alertmanager', {
      ...body,
      alerts: [{ ...testAlert(zone), startsAt: 'soon' }],
    });
    assert.equal(badAlert.status, 400, describeAnswer(badAlert));
    assert.match(badAlert.body.error.message, /alerts\[0\]\.startsAt/);
    const notJson = await post('alertmanager', undefined, { raw: '{"version": "4",' });
    assert.equal(notJson.status, 400, describeAnswer(notJson));
    assert.equal(notJson.body.error.violations[0]?.field, 'body');

    const oversized = await post('alertmanager', {
      ...body,
      commonAnnotations: { description: 'x'.repeat(70_000) },
    });
    assert.equal(oversized.status, 413, describeAnswer(oversized));

    const unknownZone = `${zone}-unknown`;
    const unknown = await post(
      'alertmanager',
      alertmanagerBody([testAlert(zone, { fingerprint: 'aaaa' }), testAlert(unknownZone)]),
    );
    assert.equal(unknown.status, 404, describeAnswer(unknown));
    assert.equal(unknown.body.error.code, 'not_found');
    assert.equal(unknown.body.error.details['zone'], unknownZone);

    assert.equal(ledger.activeVersion(zone), v[1]);
    assert.equal(activateCallsFor(zone), 0);
    assert.equal((await recordsOf(zone)).length, 0, 'no record for a refused webhook');
  });

  it('answers 503 while the coordinator is down, records nothing, and rolls back on the retry after it returns', async () => {
    const { zone, v } = seed('am_down', 2);
    const body = alertmanagerBody([testAlert(zone)]);
    await coordinator.close();
    let down: Answer;
    try {
      down = await post('alertmanager', body);
    } finally {
      await coordinator.listen();
    }
    assert.equal(down.status, 503, describeAnswer(down));
    assert.equal(down.body.error.code, 'unavailable');
    assert.equal((await recordsOf(zone)).length, 0);
    assert.equal(ledger.activeVersion(zone), v[1]);

    // Alertmanager retries until the answer is not a 5xx; the channel reconnects with backoff.
    const retried = await waitFor(
      async () => {
        const answer = await post('alertmanager', body);
        return answer.status === 503 ? undefined : answer;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the retried webhook to get past 503' },
    );
    assert.equal(retried.status, 200, describeAnswer(retried));
    assert.equal(retried.body.alerts[0]?.rollback?.outcome, 'rolled_back');
    assert.equal(ledger.activeVersion(zone), v[0]);
    assert.equal(activateCallsFor(zone), 1);
  });

  it('rolls back on a Grafana notification signed with the shared secret, and refuses a bad signature', async () => {
    const { zone, v } = seed('grafana', 2);
    const raw = JSON.stringify(grafanaBody([testAlert(zone)]));
    const signature = grafanaSignature(hmacSecret, Buffer.from(raw));
    const unsigned = await post('grafana', undefined, { raw });
    assert.equal(unsigned.status, 401, describeAnswer(unsigned));
    const forged = await post('grafana', undefined, {
      raw,
      headers: {
        'x-grafana-alerting-signature': grafanaSignature('another-secret', Buffer.from(raw)),
      },
    });
    assert.equal(forged.status, 401, describeAnswer(forged));
    assert.equal(activateCallsFor(zone), 0);

    const signed = await post('grafana', undefined, {
      raw,
      headers: { 'X-Grafana-Alerting-Signature': signature },
    });
    assert.equal(signed.status, 200, describeAnswer(signed));
    assert.equal(signed.body.alerts[0]?.rollback?.outcome, 'rolled_back');
    assert.equal(ledger.activeVersion(zone), v[0]);
    const [record] = await recordsOf(zone);
    assert.equal(record?.triggerDetails['source'], 'grafana');
  });

  it('ignores firing alerts without a zone label', async () => {
    const answer = await post('alertmanager', alertmanagerBody([testAlert(undefined)]));
    assert.equal(answer.status, 200, describeAnswer(answer));
    assert.equal(answer.body.alerts[0]?.action, 'ignored_no_zone');
  });

  it('never holds back a verdict rollback: the cooldown is for alerts only', async () => {
    const { zone, v } = seed('verdict', 3);
    const byAlert = await rollbacks.rollback({
      zoneId: zone,
      reason: 'deny spike',
      actor: 'alertmanager',
      idempotencyKey: `${zone}-alert`,
      trigger: ActivationTrigger.ROLLBACK_ALERT,
    });
    assert.equal(byAlert.rollback?.outcome, RollbackOutcome.ROLLED_BACK);
    const againByAlert = await rollbacks.rollback({
      zoneId: zone,
      reason: 'deny spike, again',
      actor: 'alertmanager',
      idempotencyKey: `${zone}-alert-2`,
      trigger: ActivationTrigger.ROLLBACK_ALERT,
    });
    assert.equal(againByAlert.rollback?.outcome, RollbackOutcome.SKIPPED_COOLDOWN);
    const byVerdict = await rollbacks.rollback({
      zoneId: zone,
      reason: 'stage verification failed',
      actor: 'deployment d-1',
      expectedActiveVersionId: v[1],
      idempotencyKey: `${zone}-verdict`,
      trigger: ActivationTrigger.ROLLBACK_VERDICT,
    });
    assert.equal(byVerdict.rollback?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(ledger.activeVersion(zone), v[0]);
  });

  it('rolls back by hand over gRPC, waiting for convergence; the same key answers DUPLICATE; manual rollbacks skip the cooldown', async () => {
    const { zone, v } = seed('grpc', 3);
    const request = {
      zoneId: zone,
      reason: 'bad deploy',
      actor: 'oncall@example.com',
      idempotencyKey: `${zone}-k1`,
      waitForConvergence: true,
      trigger: ActivationTrigger.ROLLBACK_MANUAL,
    };
    const first = await rollbacks.rollback(request);
    assert.equal(first.rollback?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(first.rollback?.toPolicySetVersionId, v[1]);
    assert.equal(first.status?.state, ActivationState.CONVERGED);
    assert.equal(ledger.activations(zone).at(-1)?.trigger, ActivationTrigger.ROLLBACK_MANUAL);

    const again = await rollbacks.rollback(request);
    assert.equal(again.rollback?.outcome, RollbackOutcome.DUPLICATE);
    assert.equal(again.rollback?.rollbackId, first.rollback?.rollbackId);
    assert.equal(activateCallsFor(zone), 1);

    const second = await rollbacks.rollback({ ...request, idempotencyKey: `${zone}-k2` });
    assert.equal(second.rollback?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(ledger.activeVersion(zone), v[0]);

    const page1 = await rollbacks.listRollbacks({ zoneId: zone, pageSize: 1 });
    assert.equal(page1.rollbacks[0]?.rollbackId, second.rollback?.rollbackId);
    assert.notEqual(page1.nextPageToken, '');
    const page2 = await rollbacks.listRollbacks({
      zoneId: zone,
      pageSize: 1,
      pageToken: page1.nextPageToken,
    });
    assert.equal(page2.rollbacks[0]?.rollbackId, first.rollback?.rollbackId);
    assert.equal(page2.nextPageToken, '');
  });

  it('records, without stepping back again, a rollback whose activation happened but whose record was lost', async () => {
    const { zone, v } = seed('grpc_lost', 3);
    // What a first attempt did before its commit failed: the activation, under the derived key.
    const { activation } = await ledger.activate(
      create(ActivateRequestSchema, {
        zoneId: zone,
        policySetVersionId: v[1]!,
        expectedActiveVersionId: v[2]!,
        idempotencyKey: `rollback:${zone}-lost`,
        reason: 'alert',
        actor: 'alertmanager:rollback-controller',
        trigger: ActivationTrigger.ROLLBACK_ALERT,
      }),
    );
    const retry = await rollbacks.rollback({
      zoneId: zone,
      reason: 'alert',
      actor: 'alertmanager:rollback-controller',
      expectedActiveVersionId: v[2]!,
      idempotencyKey: `${zone}-lost`,
      trigger: ActivationTrigger.ROLLBACK_ALERT,
    });
    assert.equal(retry.rollback?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(retry.rollback?.activationId, activation?.activationId);
    assert.equal(retry.rollback?.fromPolicySetVersionId, v[2]);
    assert.equal(retry.rollback?.toPolicySetVersionId, v[1]);
    assert.equal(ledger.activeVersion(zone), v[1]);
    assert.equal(ledger.activations(zone).length, 4, 'no second activation');
  });

  it('skips a gRPC rollback whose expected active version is not active', async () => {
    const { zone, v } = seed('grpc_expect', 2);
    const answer = await rollbacks.rollback({
      zoneId: zone,
      reason: 'verdict failed',
      actor: 'verification-aggregator',
      expectedActiveVersionId: v[0]!,
      idempotencyKey: `${zone}-k`,
      trigger: ActivationTrigger.ROLLBACK_VERDICT,
    });
    assert.equal(answer.rollback?.outcome, RollbackOutcome.SKIPPED_NOT_ACTIVE);
    assert.equal(answer.rollback?.fromPolicySetVersionId, v[1]);
    assert.equal(answer.status, undefined);
    assert.equal(activateCallsFor(zone), 0);
  });

  it('refuses bad gRPC requests naming the field, unknown zones and zones without a known good version', async () => {
    await assert.rejects(
      rollbacks.rollback({ zoneId: '', reason: '', actor: 'a', trigger: ActivationTrigger.MANUAL }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, String(error));
        assert.deepEqual(
          error.violations.map((violation) => violation.field),
          ['zone_id', 'reason', 'trigger'],
        );
        return true;
      },
    );
    await assert.rejects(
      rollbacks.rollback({ zoneId: 'no-such-zone', reason: 'r', actor: 'a' }),
      NotFoundError,
    );
    const { zone } = seed('grpc_lonely', 1);
    await assert.rejects(
      rollbacks.rollback({ zoneId: zone, reason: 'r', actor: 'a' }),
      (error: unknown) => {
        assert.ok(error instanceof FailedPreconditionError, String(error));
        assert.match(error.message, /no known good version/);
        return true;
      },
    );
    assert.equal((await recordsOf(zone)).length, 0);
    await assert.rejects(
      rollbacks.listRollbacks({ pageToken: 'not-a-token' }),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.violations[0]?.field === 'page_token',
    );
  });
});
