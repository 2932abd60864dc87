import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
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
  FakeAdminApi,
  FakeCoordinator,
  buildSignedBundle,
  writeEs256Key,
  type BuiltBundle,
} from '@caracal-deploy/stand-ins';
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
import { signEs256Jwt, tokenExchangeGrant } from '@caracal-deploy/token-exchange';
import type { Redis } from 'ioredis';

import { AppModule, GatewayCoreHost } from './app.module.js';
import { loadGatewayConfig } from './config/gateway.config.js';
import { send, type Answer } from './test-support/http-request.test-support.js';

const settings = infraSettings();
const workspace = new URL('../../../', import.meta.url).pathname;
const stsMain = join(workspace, 'apps/sts/dist/main.js');
const subjectIssuer = 'https://idp.gateway-e2e.test';
const stsIssuer = 'https://sts.gateway-e2e.test';
const adminToken = 'admin-gateway-e2e';
const maxBodyBytes = 64 * 1024;

/** One STS replica running as its own process (`node apps/sts/dist/main.js`). */
interface StsProcess {
  readonly replicaId: string;
  readonly child: ChildProcess;
  readonly baseUrl: string;
  readonly grpcAddress: string;
  readonly signingKey: KeyObject;
  readonly keyId: string;
  readonly output: string[];
  /** The environment it was started with (to restart it). */
  readonly env: Readonly<Record<string, string>>;
}

/** What the demo upstream received. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly bytes: number;
}

/** Starts an STS process and resolves once its token endpoint and gRPC server are listening. */
async function spawnSts(
  replicaId: string,
  env: Record<string, string>,
  signingKeyPath: string,
): Promise<StsProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', stsMain], {
    cwd: workspace,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let httpPort: number | undefined;
  let grpcPort: number | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const onLine = (text: string) => {
      output.push(text);
      httpPort ??= Number(/token endpoint on port (\d+)/.exec(text)?.[1]) || undefined;
      grpcPort ??=
        Number(/serving [^\n]*StsService[^\n]* on port (\d+)/.exec(text)?.[1]) || undefined;
      if (httpPort && grpcPort) resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onLine);
    child.stderr.setEncoding('utf8').on('data', onLine);
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `STS ${replicaId} exited (${code ?? signal}) before it was ready:\n${output.join('')}`,
        ),
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ready,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`STS ${replicaId} not listening after 60 s:\n${output.join('')}`)),
        60_000,
      );
    }),
  ])
    .catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    })
    .finally(() => clearTimeout(timer));
  return {
    replicaId,
    child,
    baseUrl: `http://127.0.0.1:${httpPort}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    signingKey: createPrivateKey(await readFile(signingKeyPath)),
    keyId: env['CARACAL_STS_SIGNING_KEY_ID']!,
    output,
    env,
  };
}

/** Stops a child process and waits for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

// Two real STS processes (the built app, as deployed) decide for a Gateway
// booted in this process. The Admin API and the coordinator are service
// boundaries stood in for by real servers in the test; Redis, Kafka and OPA
// (bundles built and signed by the real CLI) are real, and so is the upstream's HTTP.
describe('Gateway app: two STS replicas, real Redis, Kafka and OPA bundles', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const admin = new FakeAdminApi(adminToken);
  const coordinator = new FakeCoordinator();
  const zone = uniqueName('gwzone').replaceAll('_', '-');
  const bundles: Record<string, BuiltBundle> = {};
  const received: Received[] = [];
  const replicas: StsProcess[] = [];
  let dir: string;
  let subjectKey: KeyObject;
  let redis: Redis;
  let auditTopic: TestTopic;
  let logTopic: TestTopic;
  let auditReader: TopicReader | undefined;
  let upstream: Server;
  let gateway: INestApplicationContext | undefined;
  let gatewayPort: number;
  let metricsUrl: string;
  let health: GrpcClient<typeof HealthService> | undefined;
  let readWrite: string;
  let billingToken: string;

  const subjectToken = (claims: Record<string, unknown> = {}) =>
    signEs256Jwt(
      {
        iss: subjectIssuer,
        sub: 'user-1',
        zone_id: zone,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
        ...claims,
      },
      subjectKey,
      'idp-key',
    );

  /** An access token from an STS replica for `resource` with `scope`. */
  const exchange = async (sts: StsProcess, resource: string, scope: string): Promise<string> => {
    const response = await fetch(`${sts.baseUrl}/oauth/2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: tokenExchangeGrant,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: subjectToken(),
        resource,
        scope,
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 200, JSON.stringify(body));
    return String(body['access_token']);
  };

  const call = (
    path: string,
    token: string,
    options: { method?: string; headers?: Record<string, string>; body?: readonly Buffer[] } = {},
  ) =>
    send(gatewayPort, {
      ...options,
      path,
      headers: { authorization: `Bearer ${token}`, ...options.headers },
    });

  const auditEvent = (requestId: string) =>
    waitFor(
      () => auditReader?.messages(auditTopic.topic).find((e) => e['request_id'] === requestId),
      {
        timeoutMs: 20_000,
        description: `the audit event of ${requestId}`,
      },
    );

  const assertDecisionHeaders = (answer: Answer, requestId: string, decision: string) => {
    assert.equal(answer.headers['x-request-id'], requestId);
    assert.equal(answer.headers['x-caracal-decision'], decision);
    assert.match(String(answer.headers['x-caracal-decision-id']), /^[0-9a-f-]{36}$/);
    assert.ok(answer.headers['x-caracal-policy-revision']);
  };

  before(async () => {
    assert.ok(existsSync(stsMain), `${stsMain} is missing: build the STS first (npm run build)`);
    await assertReachable('redis', settings);
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'gateway-e2e-'));
    const bundleKeyPath = await writeEs256Key(dir, 'bundle-signing.pem');
    const subjectKeyPath = await writeEs256Key(dir, 'subject.pem');
    subjectKey = createPrivateKey(await readFile(subjectKeyPath));
    const signing = { keyPath: bundleKeyPath, keyId: 'bundle-gw-e2e' };
    bundles['read'] = await buildSignedBundle(opa, dir, 'read', ['read'], signing);
    bundles['readWrite'] = await buildSignedBundle(opa, dir, 'rw', ['read', 'write'], signing);
    for (const bundle of Object.values(bundles))
      admin.bundles.set(bundle.bundleSha256, bundle.bytes);
    admin.catalogs.set(zone, [
      {
        identifier: 'resource://orders',
        id: 'res-orders',
        type: 'http',
        scopes: ['read', 'write'],
        operations: ['GET /orders', 'POST /orders'],
      },
      {
        identifier: 'resource://billing',
        id: 'res-billing',
        type: 'http',
        scopes: ['read'],
        operations: [],
      },
    ]);
    coordinator.bindings.set(zone, { ...bundles['readWrite'], activationId: 'act-rw' });
    const adminUrl = await admin.listen();
    const coordinatorAddress = await coordinator.listen();
    redis = await createRedis(settings.redisUrl);
    auditTopic = await createTestTopic(settings.kafkaBrokers);
    logTopic = await createTestTopic(settings.kafkaBrokers);
    auditReader = await readJsonTopics(settings.kafkaBrokers, [auditTopic.topic]);

    // Each replica signs with its own key: the Gateway trusts the union of their JWKS.
    for (const replicaId of ['gw-e2e-sts-a', 'gw-e2e-sts-b']) {
      const signingKeyPath = await writeEs256Key(dir, `${replicaId}.pem`);
      replicas.push(
        await spawnSts(
          replicaId,
          {
            ...stsEnv({
              replicaId,
              region: 'gateway-e2e',
              zones: [zone],
              issuer: stsIssuer,
              signingKeyFile: signingKeyPath,
              signingKeyId: `key-${replicaId}`,
              subjectIssuer,
              subjectKeyFile: subjectKeyPath,
              bundlePublicKeyFile: bundleKeyPath,
              bundleSigningKeyId: 'bundle-gw-e2e',
              adminApiUrl: adminUrl,
              adminApiToken: adminToken,
              coordinatorAddress,
              redisUrl: settings.redisUrl,
              kafkaBrokers: settings.kafkaBrokers,
              auditTopic: auditTopic.topic,
              decisionLogTopic: logTopic.topic,
              // Long enough that only the invalidation message explains a switch.
              policyCheckIntervalMs: 600_000,
            }),
            CARACAL_STS_KEY_AUTOGENERATE: 'false',
          },
          signingKeyPath,
        ),
      );
    }

    upstream = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          bytes,
        });
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ upstream: 'orders', bytes }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;

    const config = loadGatewayConfig({
      CARACAL_GATEWAY_REGION: 'gateway-e2e',
      CARACAL_GATEWAY_HTTP_PORT: '0',
      CARACAL_GATEWAY_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_GATEWAY_METRICS_PORT: '0',
      CARACAL_GATEWAY_MAX_BODY_BYTES: String(maxBodyBytes),
      CARACAL_GATEWAY_STS_ADDRESSES: replicas.map((r) => r.grpcAddress).join(','),
      CARACAL_GATEWAY_STS_JWKS_URLS: replicas
        .map((r) => `${r.baseUrl}/.well-known/jwks.json`)
        .join(','),
      CARACAL_GATEWAY_TOKEN_ISSUER: stsIssuer,
      CARACAL_GATEWAY_DECIDE_TIMEOUT_MS: '5000',
      CARACAL_GATEWAY_ROUTES: JSON.stringify([
        {
          prefix: '/orders/',
          upstream: `http://127.0.0.1:${upstreamPort}/orders/`,
          resource: {
            identifier: 'resource://orders',
            id: 'res-orders',
            scopes: ['read', 'write'],
          },
          operations: {
            GET: { id: 'orders.read', scope: 'read' },
            POST: { id: 'orders.create', scope: 'write' },
          },
        },
      ]),
    });
    gateway = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: false,
      abortOnError: false,
    });
    gatewayPort = gateway.get(GatewayCoreHost).httpPort;
    metricsUrl = `http://127.0.0.1:${gateway.get(MetricsServerHost).port}/metrics`;
    health = createGrpcClient(HealthService, `127.0.0.1:${gateway.get(GrpcServerHost).port}`);

    readWrite = await exchange(replicas[0]!, 'resource://orders', 'read write');
    billingToken = await exchange(replicas[1]!, 'resource://billing', 'read');
  });

  after(async () => {
    health?.close();
    await gateway?.close();
    await Promise.all(replicas.map((replica) => stop(replica.child)));
    await redis?.del(...replicas.map((replica) => replicaStatusKey(zone, replica.replicaId)));
    await auditReader?.close();
    redis?.disconnect();
    await Promise.all([auditTopic?.delete(), logTopic?.delete()]);
    upstream?.closeAllConnections();
    upstream?.close();
    await admin.close();
    await coordinator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('forwards an allowed request with the decision headers, audited by request id', async () => {
    const answer = await call('/orders/42?view=full', readWrite, {
      headers: { 'x-request-id': 'gw-allow-1' },
    });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body), { upstream: 'orders', bytes: 0 });
    assertDecisionHeaders(answer, 'gw-allow-1', 'allow');
    assert.equal(answer.headers['x-caracal-policy-revision'], bundles['readWrite']!.revision);
    const seen = received.find((r) => r.headers['x-request-id'] === 'gw-allow-1');
    assert.equal(seen?.url, '/orders/42?view=full');
    assert.equal(seen.headers['x-caracal-decision-id'], answer.headers['x-caracal-decision-id']);

    const event = await auditEvent('gw-allow-1');
    assert.equal(event['event_type'], 'gateway.decide');
    assert.equal(event['decision'], 'allow');
    assert.equal(event['id'], answer.headers['x-caracal-decision-id']);
    assert.equal(event['zone_id'], zone);
    assert.equal(event['manifest_sha'], `sha256:${bundles['readWrite']!.revision}`);
  });

  it('ignores forged x-caracal-* headers: stripped before the upstream and replaced in the answer', async () => {
    const answer = await call('/orders/7', readWrite, {
      headers: {
        'x-request-id': 'gw-forged-1',
        'x-caracal-decision': 'deny',
        'x-caracal-decision-id': 'forged-id',
        'x-caracal-policy-revision': 'forged-revision',
        'x-caracal-subject': 'admin',
      },
    });
    assert.equal(answer.status, 200);
    assertDecisionHeaders(answer, 'gw-forged-1', 'allow');
    assert.notEqual(answer.headers['x-caracal-decision-id'], 'forged-id');
    const seen = received.find((r) => r.headers['x-request-id'] === 'gw-forged-1');
    assert.ok(seen);
    assert.equal(seen.headers['x-caracal-decision'], undefined);
    assert.equal(seen.headers['x-caracal-subject'], undefined);
    assert.equal(seen.headers['x-caracal-decision-id'], answer.headers['x-caracal-decision-id']);
    assert.equal(seen.headers['x-caracal-policy-revision'], bundles['readWrite']!.revision);
  });

  it('refuses bad tokens with 401 invalid_token before asking the STS or the upstream', async () => {
    const before = received.length;
    const sts = replicas[0]!;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: stsIssuer,
      sub: 'user-1',
      aud: 'resource://orders',
      zone_id: zone,
      scope: 'read write',
      iat: now - 7_200,
      exp: now - 3_600,
    };
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cases: [string, string, RegExp][] = [
      ['expired', signEs256Jwt(claims, sts.signingKey, sts.keyId), /expired/],
      [
        'wrongly signed',
        signEs256Jwt({ ...claims, exp: now + 300 }, forger, sts.keyId),
        /signature/,
      ],
      ['unknown key', signEs256Jwt({ ...claims, exp: now + 300 }, forger, 'no-such-kid'), /key/],
      ['malformed', 'not.a-token', /part|base64url/],
      ['another resource', billingToken, /resource:\/\/orders/],
      ['a subject token', subjectToken(), /key|iss/],
    ];
    for (const [name, token, pattern] of cases) {
      const answer = await call('/orders/1', token, {
        headers: { 'x-request-id': `gw-401-${name.replaceAll(' ', '-')}` },
      });
      assert.equal(answer.status, 401, `${name}: ${answer.body}`);
      const body = JSON.parse(answer.body) as Record<string, string>;
      assert.equal(body['error'], 'invalid_token', name);
      assert.match(body['error_description']!, pattern, name);
      assert.equal(answer.headers['x-caracal-decision'], 'deny', name);
      assert.ok(answer.headers['x-caracal-decision-id'], name);
    }
    const missing = await send(gatewayPort, { path: '/orders/1' });
    assert.equal(missing.status, 401);
    assert.equal(received.length, before, 'the upstream was never called');
  });

  it('answers 413 to an oversized body without touching the upstream', async () => {
    const before = received.length;
    const answer = await call('/orders/', readWrite, {
      method: 'POST',
      headers: {
        'x-request-id': 'gw-413-1',
        'content-type': 'application/octet-stream',
        'content-length': String(maxBodyBytes * 4),
      },
      body: [Buffer.alloc(maxBodyBytes * 4)],
    });
    assert.equal(answer.status, 413);
    assert.equal(answer.headers['x-caracal-decision'], 'deny');
    assert.equal(answer.headers['x-request-id'], 'gw-413-1');
    // A body under the limit streams through.
    const fits = await call('/orders/', readWrite, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      body: [Buffer.alloc(maxBodyBytes / 2), Buffer.alloc(maxBodyBytes / 4)],
    });
    assert.equal(fits.status, 200, fits.body);
    assert.equal((JSON.parse(fits.body) as { bytes: number }).bytes, (maxBodyBytes * 3) / 4);
    assert.equal(received.length, before + 1);
  });

  it('swaps the policy under load: every decision whole, none failed, denies never forwarded', async () => {
    const writes = (requestId: string) =>
      call('/orders/', readWrite, {
        method: 'POST',
        headers: { 'x-request-id': requestId, 'content-type': 'application/json' },
        body: [Buffer.from('{"item": "x"}')],
      });
    const answers: Answer[] = [];
    let swapped = false;
    let sent = 0;
    // Writes are allowed by the read-write bundle and denied by the read-only one.
    const worker = async () => {
      let after = 0;
      while (after < 5) {
        // Only a request sent after both replicas swapped must be denied; one in
        // flight across the swap may still have been decided by the old bundle.
        const sentAfterSwap = swapped;
        answers.push(await writes(`gw-swap-${(sent += 1)}`));
        if (sentAfterSwap) after += 1;
      }
    };
    const load = Promise.all([worker(), worker(), worker()]);
    await waitFor(() => (answers.length >= 10 ? true : undefined), {
      timeoutMs: 20_000,
      description: 'load before the swap',
    });
    coordinator.bindings.set(zone, { ...bundles['read']!, activationId: 'act-read' });
    await redis.xadd(
      invalidationStream,
      '*',
      ...Object.entries(
        invalidationFields({
          zoneId: zone,
          policySetId: 'set-1',
          policySetVersionId: `version-${bundles['read']!.revision.slice(0, 8)}`,
          manifestSha256: bundles['read']!.revision,
          activationId: 'act-read',
        }),
      ).flat(),
    );
    await waitFor(
      async () => {
        const statuses = (await readReplicaStatuses(redis, zone)).filter((s) =>
          replicas.some((r) => r.replicaId === s.replicaId),
        );
        return statuses.length === 2 &&
          statuses.every((s) => s.revision === bundles['read']!.revision)
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, description: 'both STS replicas to serve the read-only bundle' },
    );
    swapped = true;
    await load;
    const whole = (answer: Answer) =>
      (answer.status === 200 &&
        answer.headers['x-caracal-decision'] === 'allow' &&
        answer.headers['x-caracal-policy-revision'] === bundles['readWrite']!.revision) ||
      (answer.status === 403 &&
        answer.headers['x-caracal-decision'] === 'deny' &&
        answer.headers['x-caracal-policy-revision'] === bundles['read']!.revision);
    const broken = answers.filter((answer) => !whole(answer));
    assert.deepEqual(
      broken.map((a) => [a.status, a.headers['x-caracal-policy-revision'], a.body]),
      [],
    );
    const allowed = answers.filter((a) => a.status === 200);
    assert.ok(allowed.length >= 10, 'allowed before the swap');
    assert.ok(answers.length - allowed.length >= 15, 'denied after the swap');
    const forwarded = received.filter((r) =>
      String(r.headers['x-request-id']).startsWith('gw-swap-'),
    );
    assert.deepEqual(
      forwarded.map((r) => r.headers['x-request-id']).sort(),
      allowed.map((a) => a.headers['x-request-id']).sort(),
      'exactly the allowed writes reached the upstream',
    );
  });

  it('denies what the new policy denies on both replicas, audited, before the upstream', async () => {
    const before = received.length;
    for (const replica of ['first', 'second']) {
      // Round robin: consecutive requests go to both replicas.
      const requestId = `gw-deny-${replica}`;
      const denied = await call('/orders/', readWrite, {
        method: 'POST',
        headers: { 'x-request-id': requestId, 'content-type': 'application/json' },
        body: [Buffer.from('{"item": "x"}')],
      });
      assert.equal(denied.status, 403, denied.body);
      assert.equal((JSON.parse(denied.body) as Record<string, string>)['error'], 'access_denied');
      assertDecisionHeaders(denied, requestId, 'deny');
      assert.equal(denied.headers['x-caracal-policy-revision'], bundles['read']!.revision);
      const event = await auditEvent(requestId);
      assert.equal(event['decision'], 'deny');
      assert.equal(event['id'], denied.headers['x-caracal-decision-id']);
    }
    assert.equal(received.length, before, 'the upstream was never called');
    // Reading is still allowed under the new policy.
    const read = await call('/orders/1', readWrite);
    assert.equal(read.status, 200);
    assert.equal(read.headers['x-caracal-policy-revision'], bundles['read']!.revision);
  });

  it('reports health and counts requests by decision on /metrics', async () => {
    const check = await health!.check({ components: [] });
    assert.equal(check.status, ServingStatus.SERVING);
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(
      metrics,
      /caracal_gateway_requests_total\{[^}]*decision="allow",outcome="forwarded"[^}]*\} [1-9]/,
    );
    assert.match(
      metrics,
      /caracal_gateway_requests_total\{[^}]*decision="deny",outcome="policy_denied"[^}]*\} [1-9]/,
    );
    assert.match(
      metrics,
      /caracal_gateway_requests_total\{[^}]*decision="deny",outcome="invalid_token"[^}]*\} [1-9]/,
    );
    assert.match(metrics, /caracal_gateway_request_seconds_count\{[^}]*\} [1-9]/);
  });

  it('fails over when one STS replica stops', async () => {
    await stop(replicas[0]!.child);
    for (let i = 0; i < 4; i += 1) {
      const requestId = `gw-failover-${i}`;
      const answer = await call('/orders/1', readWrite, { headers: { 'x-request-id': requestId } });
      assert.equal(answer.status, 200, answer.body);
      assertDecisionHeaders(answer, requestId, 'allow');
    }
    const stopped = replicas[0]!.grpcAddress.replaceAll('.', '\\.');
    assert.match(
      await (await fetch(metricsUrl)).text(),
      new RegExp(`caracal_gateway_sts_failures_total\\{[^}]*address="${stopped}"[^}]*\\} [1-9]`),
      'requests sent to the stopped replica failed over',
    );
  });

  it('answers 503 and never forwards when every STS replica is down', async () => {
    await stop(replicas[1]!.child);
    const before = received.length;
    const answer = await call('/orders/1', readWrite, { headers: { 'x-request-id': 'gw-503-1' } });
    assert.equal(answer.status, 503, answer.body);
    assert.equal(
      (JSON.parse(answer.body) as Record<string, string>)['error'],
      'temporarily_unavailable',
    );
    assert.equal(answer.headers['x-caracal-decision'], 'deny');
    assert.equal(answer.headers['x-request-id'], 'gw-503-1');
    assert.ok(answer.headers['retry-after']);
    assert.equal(received.length, before);
    const check = await health!.check({ components: [] });
    assert.equal(check.status, ServingStatus.NOT_SERVING);
  });

  it('picks a restarted STS replica up again', async () => {
    const old = replicas[1]!;
    // Same gRPC address as configured in the Gateway; the signing key file is reused.
    const restarted = await spawnSts(
      old.replicaId,
      { ...old.env, CARACAL_STS_GRPC_ADDRESS: old.grpcAddress },
      old.env['CARACAL_STS_SIGNING_KEY_FILE']!,
    );
    replicas.push(restarted);
    const answer = await waitFor(
      async () => {
        const attempt = await call('/orders/1', readWrite);
        return attempt.status === 200 ? attempt : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, description: 'the Gateway to forward again' },
    );
    assert.equal(answer.headers['x-caracal-decision'], 'allow');
    assert.equal(answer.headers['x-caracal-policy-revision'], bundles['read']!.revision);
    assert.equal((await health!.check({ components: [] })).status, ServingStatus.SERVING);
  });
});
