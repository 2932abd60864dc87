import 'reflect-metadata';
import assert from 'node:assert/strict';
import {
  createPublicKey,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Decision, HealthService, ServingStatus, StsService } from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import { OpaCli } from '@caracal-deploy/opa';
import {
  createRedis,
  invalidationFields,
  invalidationStream,
  readReplicaStatuses,
  replicaStatusKey,
} from '@caracal-deploy/redis';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  readJsonTopics,
  stsEnv,
  uniqueName,
  waitFor,
  type TestTopic,
  type TopicReader,
} from '@caracal-deploy/testing';
import { signEs256Jwt, tokenExchangeGrant, verifyEs256Jwt } from '@caracal-deploy/token-exchange';
import type { Redis } from 'ioredis';

import { AppModule, StsCoreHost } from './app.module.js';
import { loadStsConfig } from './config/sts.config.js';
import {
  FakeAdminApi,
  FakeCoordinator,
  buildSignedBundle,
  writeEs256Key,
  type BuiltBundle,
} from '@caracal-deploy/stand-ins';

const settings = infraSettings();
const subjectIssuer = 'https://idp.e2e.test';
const stsIssuer = 'https://sts.e2e.test';
const adminToken = 'admin-e2e-token';
const zoneName = (prefix: string) => uniqueName(prefix).replaceAll('_', '-');

interface Booted {
  app: INestApplicationContext;
  baseUrl: string;
  metricsUrl: string;
  grpc: GrpcClient<typeof StsService>;
  health: GrpcClient<typeof HealthService>;
  replicaId: string;
}

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

// The Admin API and the activation coordinator are service boundaries: they are
// stood in for by a real HTTP server and a real gRPC server in this test. Redis,
// Kafka and OPA (bundles built and signed by the real CLI, evaluated by opa-wasm) are real.
describe('STS app: token exchange and Decide against real Redis, Kafka and OPA bundles', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const admin = new FakeAdminApi(adminToken);
  const coordinator = new FakeCoordinator();
  const zone = zoneName('zone');
  const emptyZone = zoneName('empty');
  const replicas: Booted[] = [];
  const bundles: Record<string, BuiltBundle> = {};
  let dir: string;
  let subjectKey: KeyObject;
  let redis: Redis;
  let auditTopic: TestTopic;
  let logTopic: TestTopic;
  let sts: Booted;
  let adminUrl: string;
  let coordinatorAddress: string;
  let bundleKeyPath: string;

  const subjectToken = (claims: Record<string, unknown> = {}, key = subjectKey) =>
    signEs256Jwt(
      {
        iss: subjectIssuer,
        sub: 'user-1',
        email: 'user-1@example.test',
        zone_id: zone,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
        ...claims,
      },
      key,
      'idp-key',
    );

  const exchange = async (
    params: Record<string, string>,
    headers: Record<string, string> = {},
    target = sts,
  ): Promise<TokenAnswer> => {
    const response = await fetch(`${target.baseUrl}/oauth/2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({
        grant_type: tokenExchangeGrant,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        resource: 'resource://orders',
        scope: 'read',
        ...params,
        subject_token: params['subject_token'] ?? subjectToken(),
      }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      headers: response.headers,
    };
  };

  const boot = async (
    replicaId: string,
    overrides: Record<string, string> = {},
  ): Promise<Booted> => {
    const config = loadStsConfig({
      ...stsEnv({
        replicaId,
        region: 'e2e',
        zones: [zone, emptyZone],
        issuer: stsIssuer,
        signingKeyFile: join(dir, `${replicaId}-signing.pem`),
        signingKeyId: `sts-${replicaId}`,
        subjectIssuer,
        subjectKeyFile: join(dir, 'subject.pem'),
        bundlePublicKeyFile: bundleKeyPath,
        bundleSigningKeyId: 'bundle-e2e',
        adminApiUrl: adminUrl,
        adminApiToken: adminToken,
        coordinatorAddress,
        redisUrl: settings.redisUrl,
        kafkaBrokers: settings.kafkaBrokers,
        auditTopic: auditTopic.topic,
        decisionLogTopic: logTopic.topic,
        // Long enough that only an invalidation message explains a fast switch.
        policyCheckIntervalMs: 600_000,
      }),
      CARACAL_STS_MAX_BODY_BYTES: '4096',
      CARACAL_DECISION_LOG_MASKED_PATHS: 'context.subject_claims.email',
      ...overrides,
    });
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: false,
      // Throw boot failures to the test instead of exiting the process.
      abortOnError: false,
    });
    const booted = {
      app,
      replicaId,
      baseUrl: `http://127.0.0.1:${app.get(StsCoreHost).httpPort}`,
      metricsUrl: `http://127.0.0.1:${app.get(MetricsServerHost).port}/metrics`,
      grpc: createGrpcClient(StsService, `127.0.0.1:${app.get(GrpcServerHost).port}`),
      health: createGrpcClient(HealthService, `127.0.0.1:${app.get(GrpcServerHost).port}`),
    };
    replicas.push(booted);
    return booted;
  };

  const invalidate = async (zoneId: string, target: BuiltBundle, activationId: string) => {
    coordinator.bindings.set(zoneId, { ...target, activationId });
    await redis.xadd(
      invalidationStream,
      '*',
      ...Object.entries(
        invalidationFields({
          zoneId,
          policySetId: 'set-1',
          policySetVersionId: `version-${target.revision.slice(0, 8)}`,
          manifestSha256: target.revision,
          activationId,
        }),
      ).flat(),
    );
  };

  const metricsText = async (target = sts) => (await fetch(target.metricsUrl)).text();

  // One consumer reads both topics from the beginning for the whole suite (one group join).
  let reader: TopicReader | undefined;
  const auditEvents = (topic: string) => Promise.resolve([...(reader?.messages(topic) ?? [])]);

  before(async () => {
    await assertReachable('redis', settings);
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'sts-e2e-'));
    bundleKeyPath = await writeEs256Key(dir, 'bundle-signing.pem');
    subjectKey = createPrivateKey(await readFile(await writeEs256Key(dir, 'subject.pem')));
    const signing = { keyPath: bundleKeyPath, keyId: 'bundle-e2e' };
    bundles['v1'] = await buildSignedBundle(opa, dir, 'v1', ['read'], signing);
    bundles['v2'] = await buildSignedBundle(opa, dir, 'v2', ['read', 'write'], signing);
    const foreignKey = await writeEs256Key(dir, 'foreign.pem');
    bundles['forged'] = await buildSignedBundle(opa, dir, 'forged', ['read', 'write', 'admin'], {
      keyPath: foreignKey,
      keyId: 'bundle-e2e',
    });
    for (const bundle of Object.values(bundles))
      admin.bundles.set(bundle.bundleSha256, bundle.bytes);
    const catalog = [
      {
        identifier: 'resource://orders',
        id: 'res-orders',
        type: 'http',
        scopes: ['read', 'write', 'admin'],
        operations: ['GET /orders'],
      },
      {
        identifier: 'resource://billing',
        id: 'res-billing',
        type: 'http',
        scopes: ['read'],
        operations: [],
      },
    ];
    admin.catalogs.set(zone, catalog);
    admin.catalogs.set(emptyZone, catalog);
    coordinator.bindings.set(zone, { ...bundles['v1'], activationId: 'act-1' });
    adminUrl = await admin.listen();
    coordinatorAddress = await coordinator.listen();
    redis = await createRedis(settings.redisUrl);
    auditTopic = await createTestTopic(settings.kafkaBrokers);
    logTopic = await createTestTopic(settings.kafkaBrokers);
    reader = await readJsonTopics(settings.kafkaBrokers, [auditTopic.topic, logTopic.topic]);
    sts = await boot('sts-e2e-1');
  });

  after(async () => {
    for (const replica of replicas) {
      replica.grpc.close();
      replica.health.close();
      await replica.app.close();
      await redis?.del(
        replicaStatusKey(zone, replica.replicaId),
        replicaStatusKey(emptyZone, replica.replicaId),
      );
    }
    await reader?.close();
    redis?.disconnect();
    await Promise.all([auditTopic?.delete(), logTopic?.delete()]);
    await admin.close();
    await coordinator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('allows an exchange the policy allows and issues a token that verifies against the JWKS', async () => {
    const answer = await exchange({}, { 'x-request-id': 'req-allow-1' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.headers.get('x-request-id'), 'req-allow-1');
    assert.equal(answer.body['token_type'], 'Bearer');
    assert.equal(answer.body['scope'], 'read');
    assert.equal(answer.body['issued_token_type'], 'urn:ietf:params:oauth:token-type:access_token');
    const jwks = (await (await fetch(`${sts.baseUrl}/.well-known/jwks.json`)).json()) as {
      keys: ({ kid: string } & Record<string, unknown>)[];
    };
    assert.equal(jwks.keys.length, 1);
    const jwk = jwks.keys[0]!;
    const claims = verifyEs256Jwt(String(answer.body['access_token']), {
      key: (kid) => (kid === jwk.kid ? createPublicKey({ key: jwk, format: 'jwk' }) : undefined),
      issuer: stsIssuer,
      audience: 'resource://orders',
    });
    assert.equal(claims['sub'], 'user-1');
    assert.equal(claims['zone_id'], zone);
    assert.equal(claims['scope'], 'read');
    assert.deepEqual(claims['target'], ['resource://orders']);
    assert.equal(Number(claims['exp']) - Number(claims['iat']), 300);
  });

  it('denies what the policy denies with 403 access_denied and the decision id', async () => {
    const answer = await exchange({ scope: 'read write' }, { 'x-request-id': 'req-deny-1' });
    assert.equal(answer.status, 403);
    assert.equal(answer.body['error'], 'access_denied');
    assert.match(String(answer.body['decision_id']), /^[0-9a-f-]{36}$/);
    assert.equal(answer.headers.get('x-caracal-decision'), 'deny');
    assert.equal(answer.headers.get('x-caracal-policy-revision'), bundles['v1']!.revision);
    assert.equal('access_token' in answer.body, false);
  });

  it('refuses expired and forged subject tokens with 401 invalid_token', async () => {
    const expired = await exchange({
      subject_token: subjectToken({ exp: Math.floor(Date.now() / 1000) - 3_600 }),
    });
    assert.equal(expired.status, 401);
    assert.equal(expired.body['error'], 'invalid_token');
    assert.match(String(expired.body['error_description']), /expired/);
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await exchange({ subject_token: subjectToken({}, forger) });
    assert.equal(forged.status, 401);
    assert.equal(forged.body['error'], 'invalid_token');
    assert.match(String(forged.body['error_description']), /signature/);
  });

  it('refuses unknown resources (invalid_target), unoffered scopes (invalid_scope) and oversized bodies (413)', async () => {
    const unknown = await exchange({ resource: 'resource://nope' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body['error'], 'invalid_target');
    assert.match(String(unknown.body['error_description']), /resource:\/\/nope/);
    // billing is on the second catalog page: paging is followed.
    const scope = await exchange({ resource: 'resource://billing', scope: 'write' });
    assert.equal(scope.status, 400);
    assert.equal(scope.body['error'], 'invalid_scope');
    const big = await exchange({ padding: 'x'.repeat(8_192) });
    assert.equal(big.status, 413);
  });

  it('denies with no_active_policy_set in a zone without an active binding', async () => {
    const answer = await exchange({ subject_token: subjectToken({ zone_id: emptyZone }) });
    assert.equal(answer.status, 403);
    assert.equal(answer.body['reason'], 'no_active_policy_set');
    assert.ok(answer.body['decision_id']);
  });

  it('writes the audit event and the decision log of each exchange, matched by request id', async () => {
    const event = await waitFor(
      async () =>
        (await auditEvents(auditTopic.topic)).find((e) => e['request_id'] === 'req-allow-1'),
      { timeoutMs: 20_000, intervalMs: 50, description: 'the audit event of req-allow-1' },
    );
    assert.equal(event['decision'], 'allow');
    assert.equal(event['zone_id'], zone);
    assert.equal(event['event_type'], 'token.exchange');
    assert.equal(event['manifest_sha'], `sha256:${bundles['v1']!.revision}`);
    assert.equal(event['policy_set_version_id'], `version-${bundles['v1']!.revision.slice(0, 8)}`);
    assert.deepEqual(event['determining_policies_json'], [{ id: 'scope-gate' }]);
    // The deny may sit in a later batch than the allow: wait for it too.
    const denied = await waitFor(
      async () =>
        (await auditEvents(auditTopic.topic)).find((e) => e['request_id'] === 'req-deny-1'),
      { timeoutMs: 20_000, intervalMs: 50, description: 'the audit event of req-deny-1' },
    );
    assert.equal(denied['decision'], 'deny');
    const log = await waitFor(
      async () => (await auditEvents(logTopic.topic)).find((l) => l['decision_id'] === event['id']),
      { timeoutMs: 20_000, intervalMs: 50, description: 'the decision log of req-allow-1' },
    );
    assert.equal(log['revision'], bundles['v1']!.revision);
    const logged = log['input'] as {
      principal: { id: string };
      context: { subject_claims: Record<string, unknown> };
    };
    assert.equal(logged.principal.id, 'user-1');
    // CARACAL_DECISION_LOG_MASKED_PATHS masks the email in the log, not in the decision.
    assert.equal(logged.context.subject_claims['email'], '[masked]');
    assert.equal(logged.context.subject_claims['sub'], 'user-1');
  });

  it('answers gRPC Decide for the Gateway on the same bundle, audited as gateway.decide', async () => {
    const input = (scopes: string[]) =>
      JSON.stringify({
        schema_version: '2026-05-20',
        principal: { type: 'User', id: 'user-1', zone_id: zone },
        resource: {
          type: 'http',
          id: 'res-orders',
          identifier: 'resource://orders',
          scopes: ['read'],
        },
        action: { id: 'GET /orders', method: 'GET', path: '/orders' },
        context: { actor_claims: {}, challenge_resolved: false, requested_scopes: scopes },
      });
    const allow = await sts.grpc.decide({
      zoneId: zone,
      requestId: 'gw-1',
      inputJson: input(['read']),
    });
    assert.equal(allow.decision, Decision.ALLOW);
    assert.equal(allow.revision, bundles['v1']!.revision);
    assert.equal(allow.evaluationStatus, 'complete');
    const deny = await sts.grpc.decide({
      zoneId: zone,
      requestId: 'gw-2',
      inputJson: input(['admin']),
    });
    assert.equal(deny.decision, Decision.DENY);
    assert.ok(deny.decisionId);
    const event = await waitFor(
      async () => (await auditEvents(auditTopic.topic)).find((e) => e['request_id'] === 'gw-2'),
      { timeoutMs: 20_000, intervalMs: 50, description: 'the audit event of gw-2' },
    );
    assert.equal(event['event_type'], 'gateway.decide');
    assert.equal(event['id'], deny.decisionId);
    await assert.rejects(
      sts.grpc.decide({ zoneId: zone, requestId: 'gw-3', inputJson: '[' }),
      /input_json/,
    );
  });

  it('exposes policy age, revision and decision counters on /metrics', async () => {
    const text = await metricsText();
    assert.match(
      text,
      new RegExp(`caracal_sts_policy_age_seconds\\{[^}]*zone="${zone}"[^}]*\\} \\d`),
    );
    assert.doesNotMatch(
      text,
      new RegExp(`caracal_sts_policy_age_seconds\\{[^}]*zone="${emptyZone}"`),
    );
    assert.match(
      text,
      new RegExp(
        `caracal_sts_policy_revision_info\\{[^}]*zone="${zone}",revision="${bundles['v1']!.revision}"[^}]*\\} 1`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `caracal_sts_decisions_total\\{[^}]*zone="${zone}",decision="allow"[^}]*\\} [1-9]`,
      ),
    );
    assert.match(
      text,
      new RegExp(`caracal_sts_decisions_total\\{[^}]*zone="${zone}",decision="deny"[^}]*\\} [1-9]`),
    );
    assert.match(text, /caracal_sts_decision_seconds_count\{[^}]*\} [1-9]/);
    assert.match(text, /caracal_sts_audit_buffered(\{[^}]*\})? \d+/);
  });

  it('reports not serving while a served zone has no bundle, naming the zone', async () => {
    const response = await sts.health.check({ components: [] });
    assert.equal(response.status, ServingStatus.NOT_SERVING);
    const policy = response.components.find((c) => c.name === 'policy');
    assert.equal(policy?.outcome.case, 'unhealthy');
    assert.match(policy.outcome.value.reason, new RegExp(emptyZone));
  });

  it('rejects a bundle with a foreign signature and keeps serving the last good one', async () => {
    await invalidate(zone, bundles['forged']!, 'act-forged');
    await waitFor(
      async () =>
        /caracal_sts_bundle_rejections_total\{[^}]*reason="signature_invalid"[^}]*\} [1-9]/.test(
          await metricsText(),
        )
          ? true
          : undefined,
      { timeoutMs: 20_000, intervalMs: 50, description: 'the forged bundle to be rejected' },
    );
    const answer = await exchange({ scope: 'admin' });
    assert.equal(answer.status, 403, 'the forged bundle (which allows admin) is not served');
    assert.equal(answer.headers.get('x-caracal-policy-revision'), bundles['v1']!.revision);
  });

  it('switches every replica to the new bundle on one invalidation message', async () => {
    const second = await boot('sts-e2e-2');
    // The second replica starts on the binding the coordinator names now (the forged
    // one is rejected), so it serves nothing yet; then both must converge on v2.
    await invalidate(zone, bundles['v2']!, 'act-2');
    for (const replica of [sts, second]) {
      await waitFor(
        async () => {
          const answer = await exchange({ scope: 'read write' }, {}, replica);
          return answer.status === 200 ? answer : undefined;
        },
        {
          timeoutMs: 20_000,
          intervalMs: 50,
          description: `${replica.replicaId} to allow write under v2`,
        },
      );
    }
    // Both replicas report v2 where the coordinator reads replica status.
    await waitFor(
      async () => {
        const statuses = await readReplicaStatuses(redis, zone);
        const mine = statuses.filter(
          (s) => s.replicaId === sts.replicaId || s.replicaId === second.replicaId,
        );
        return mine.length === 2 && mine.every((s) => s.revision === bundles['v2']!.revision)
          ? true
          : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, description: 'both replicas to report v2' },
    );
  });

  it('refuses to issue a token when the audit buffer is full (Kafka down): 503, counted', async () => {
    // Nothing listens on port 1: every send fails, so the one buffered decision never leaves.
    const offline = await boot('sts-e2e-offline', {
      CARACAL_KAFKA_BROKERS: '127.0.0.1:1',
      CARACAL_STS_EVENT_BUFFER_CAPACITY: '1',
      CARACAL_STS_SHUTDOWN_FLUSH_MS: '200',
      CARACAL_STS_KAFKA_RETRIES: '1',
      CARACAL_STS_ZONES: zone,
    });
    // Its only zone has a bundle, so it is ready: readiness does not hide a Kafka outage's 503s.
    assert.equal((await offline.health.check({ components: [] })).status, ServingStatus.SERVING);
    // The replica loaded its bundle before opening the endpoint; the first decision fills the buffer.
    const buffered = await exchange({ scope: 'read' }, {}, offline);
    assert.equal(buffered.status, 200, JSON.stringify(buffered.body));
    const full = await exchange({ scope: 'read' }, {}, offline);
    assert.equal(full.status, 503);
    assert.equal(full.body['error'], 'temporarily_unavailable');
    assert.equal('access_token' in full.body, false);
    assert.match(await metricsText(offline), /caracal_sts_audit_rejected_total\{[^}]*\} [1-9]/);
  });
});
