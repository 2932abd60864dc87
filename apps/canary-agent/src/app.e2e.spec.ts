import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  Decision,
  HealthService,
  ServingStatus,
  type CheckResponse,
  type ProbeReport,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { OpaCli } from '@caracal-deploy/opa';
import { createRedis, invalidationFields, invalidationStream } from '@caracal-deploy/redis';
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
  freePort,
  infraSettings,
  readJsonTopics,
  startServiceProcess,
  stsEnv,
  uniqueName,
  waitFor,
  type ServiceProcess,
  type TestTopic,
  type TopicReader,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import {
  StandInAggregator,
  classifyByDecision,
} from './reporting/stand-in-aggregator.test-support.js';

const settings = infraSettings();
const workspace = new URL('../../../', import.meta.url).pathname;
const mains = {
  sts: join(workspace, 'apps/sts/dist/main.js'),
  gateway: join(workspace, 'apps/gateway/dist/main.js'),
  agent: join(workspace, 'apps/canary-agent/dist/main.js'),
};
const subjectIssuer = 'https://idp.canary-e2e.test';
const stsIssuer = 'https://sts.canary-e2e.test';
const adminToken = 'admin-canary-e2e';
const viewerToken = 'viewer-canary-e2e';
const region = 'canary-e2e';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The Gateway route the agent probes through (the Gateway gets it with its upstream). */
const route = (upstream: string) => ({
  prefix: '/orders/',
  upstream,
  resource: {
    identifier: 'resource://orders',
    id: 'res-orders',
    scopes: ['read', 'write', 'admin'],
  },
  operations: {
    GET: { id: 'orders.read', scope: 'read' },
    POST: { id: 'orders.create', scope: 'write' },
    DELETE: { id: 'orders.purge', scope: 'admin' },
  },
});

/** An expected case as stored with the policy set: a Gateway-shaped input and its decision. */
const gatewayCase = (
  name: string,
  zone: string,
  action: Record<string, unknown>,
  scope: string,
  expected: 'allow' | 'deny',
) => ({
  name,
  input: {
    schema_version: '2026-05-20',
    principal: { type: 'User', id: 'canary-orders', zone_id: zone },
    resource: {
      type: 'http',
      id: 'res-orders',
      identifier: 'resource://orders',
      scopes: ['read', 'write', 'admin'],
    },
    action,
    context: { actor_claims: {}, challenge_resolved: false, requested_scopes: [scope] },
  },
  expected_decision: expected,
});

/** The `value` of one sample of the Prometheus text `metrics`, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((pair) => labelText.split(',').includes(pair))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

// A real STS process (fed by stand-ins for the Admin API and the coordinator,
// with real OPA-built signed bundles, Redis and Kafka) decides for a real
// Gateway process; the canary agent runs as its own process and reports to a
// stand-in aggregator (a real gRPC ReportProbes server) that starts late.
describe('canary agent: probes through a real Gateway and STS, reports to the aggregator', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const admin = new FakeAdminApi(adminToken);
  const coordinator = new FakeCoordinator();
  const zone = uniqueName('canaryzone').replaceAll('_', '-');
  const bundles: Record<string, BuiltBundle> = {};
  const forwarded: { url: string; method: string; headers: IncomingHttpHeaders }[] = [];
  const processes: ServiceProcess[] = [];
  let dir: string;
  let redis: Redis | undefined;
  let auditTopic: TestTopic | undefined;
  let logTopic: TestTopic | undefined;
  let auditReader: TopicReader | undefined;
  let upstream: Server | undefined;
  let cases: Server | undefined;
  let gateway: ServiceProcess;
  let gatewayEnv: Record<string, string>;
  let gatewayUrl: string;
  let agent: ServiceProcess;
  let metricsUrl: string;
  let aggregatorPort: number;
  let aggregator: StandInAggregator | undefined;
  let health: GrpcClient<typeof HealthService> | undefined;

  const metrics = async () => (await fetch(metricsUrl)).text();
  const startGateway = async () => {
    gateway = await startServiceProcess({
      name: 'gateway',
      main: mains.gateway,
      env: gatewayEnv,
      // Any answer (404 for an unknown path) means the proxy listens.
      ready: async () => (await fetch(`${gatewayUrl}/ready-check`)).status === 404,
    });
    processes.push(gateway);
  };
  /** The agent's health component `name`: its detail when healthy, or `unhealthy: <reason>`. */
  const component = (check: CheckResponse, name: string) => {
    const outcome = check.components.find((c) => c.name === name)?.outcome;
    return outcome?.case === 'healthy'
      ? outcome.value.detail
      : `unhealthy: ${outcome?.case === 'unhealthy' ? outcome.value.reason : 'missing'}`;
  };
  const reportsOf = (probeId: string) =>
    (aggregator?.received ?? []).filter((report) => report.probeId === probeId);

  before(async () => {
    for (const main of Object.values(mains)) {
      assert.ok(existsSync(main), `${main} is missing: build it first (npx tsc -b tsconfig.json)`);
    }
    await assertReachable('redis', settings);
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'canary-e2e-'));
    const bundleKeyPath = await writeEs256Key(dir, 'bundle-signing.pem');
    const subjectKeyPath = await writeEs256Key(dir, 'subject.pem');
    const signing = { keyPath: bundleKeyPath, keyId: 'bundle-canary-e2e' };
    bundles['readWrite'] = await buildSignedBundle(opa, dir, 'rw', ['read', 'write'], signing);
    bundles['read'] = await buildSignedBundle(opa, dir, 'read', ['read'], signing);
    for (const bundle of Object.values(bundles))
      admin.bundles.set(bundle.bundleSha256, bundle.bytes);
    admin.catalogs.set(zone, [
      {
        identifier: 'resource://orders',
        id: 'res-orders',
        type: 'http',
        scopes: ['read', 'write', 'admin'],
        operations: ['GET /orders', 'POST /orders', 'DELETE /orders'],
      },
    ]);
    coordinator.bindings.set(zone, { ...bundles['readWrite'], activationId: 'act-rw' });
    const adminUrl = await admin.listen();
    const coordinatorAddress = await coordinator.listen();
    redis = await createRedis(settings.redisUrl);
    auditTopic = await createTestTopic(settings.kafkaBrokers);
    logTopic = await createTestTopic(settings.kafkaBrokers);
    auditReader = await readJsonTopics(settings.kafkaBrokers, [auditTopic.topic]);

    const sts = {
      http: `http://127.0.0.1:${await freePort()}`,
      grpc: `127.0.0.1:${await freePort()}`,
    };
    processes.push(
      await startServiceProcess({
        name: 'sts',
        main: mains.sts,
        env: {
          ...stsEnv({
            replicaId: 'canary-e2e-sts',
            region,
            zones: [zone],
            issuer: stsIssuer,
            httpPort: Number(new URL(sts.http).port),
            grpcAddress: sts.grpc,
            metricsPort: await freePort(),
            signingKeyFile: await writeEs256Key(dir, 'sts-signing.pem'),
            signingKeyId: 'sts-canary-e2e',
            subjectIssuer,
            subjectKeyFile: subjectKeyPath,
            bundlePublicKeyFile: bundleKeyPath,
            bundleSigningKeyId: 'bundle-canary-e2e',
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
        ready: async () => (await fetch(`${sts.http}/.well-known/jwks.json`)).ok,
        timeoutMs: 60_000,
      }),
    );

    upstream = createServer((request, response) => {
      forwarded.push({
        url: request.url ?? '',
        method: request.method ?? '',
        headers: request.headers,
      });
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/orders/`;

    const gatewayPort = await freePort();
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    gatewayEnv = {
      CARACAL_GATEWAY_REGION: region,
      CARACAL_GATEWAY_HTTP_PORT: String(gatewayPort),
      CARACAL_GATEWAY_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
      CARACAL_GATEWAY_METRICS_PORT: String(await freePort()),
      CARACAL_GATEWAY_STS_ADDRESSES: sts.grpc,
      CARACAL_GATEWAY_STS_JWKS_URLS: `${sts.http}/.well-known/jwks.json`,
      CARACAL_GATEWAY_TOKEN_ISSUER: stsIssuer,
      CARACAL_GATEWAY_DECIDE_TIMEOUT_MS: '5000',
      CARACAL_GATEWAY_ROUTES: JSON.stringify([route(upstreamUrl)]),
    };
    await startGateway();

    // The Admin API route the agent reads expected cases from (a service boundary).
    const expected = [
      gatewayCase(
        'read order',
        zone,
        { id: 'orders.read', method: 'GET', path: '/orders/1' },
        'read',
        'allow',
      ),
      gatewayCase(
        'create order',
        zone,
        { id: 'orders.create', method: 'POST', path: '/orders' },
        'write',
        'allow',
      ),
      gatewayCase('direct exchange', zone, { id: 'token.exchange' }, 'read', 'allow'),
    ];
    cases = createServer((request, response) => {
      const ok =
        request.headers.authorization === `Bearer ${viewerToken}` &&
        request.url === `/v1/zones/${zone}/policy-sets/authz/expected-cases`;
      response
        .writeHead(ok ? 200 : 404, { 'content-type': 'application/json' })
        .end(JSON.stringify(ok ? { zone, policy_set: 'authz', revision: 1, cases: expected } : {}));
    });
    await new Promise<void>((resolve) => cases!.listen(0, '127.0.0.1', resolve));

    const probesFile = join(dir, 'probes.json');
    await writeFile(
      probesFile,
      JSON.stringify({
        probes: [
          {
            id: 'purge-orders',
            subject_claims: { sub: 'canary-purger' },
            resource: 'resource://orders',
            scopes: ['admin'],
            method: 'DELETE',
            path: '/orders/all',
            expected_decision: 'deny',
          },
        ],
      }),
    );

    // The aggregator's port is known to the agent from the start; nothing listens on it yet.
    aggregatorPort = await freePort();
    const metricsPort = await freePort();
    const healthAddress = `127.0.0.1:${await freePort()}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    agent = await startServiceProcess({
      name: 'canary-agent',
      main: mains.agent,
      env: {
        CARACAL_CANARY_REGION: region,
        CARACAL_CANARY_AGENT_ID: 'agent-e2e',
        CARACAL_CANARY_GATEWAY_URL: gatewayUrl,
        CARACAL_CANARY_STS_TOKEN_URL: `${sts.http}/oauth/2/token`,
        CARACAL_CANARY_SUBJECT_KEY_FILE: subjectKeyPath,
        CARACAL_CANARY_SUBJECT_ISSUER: subjectIssuer,
        CARACAL_CANARY_PROBES_FILE: probesFile,
        CARACAL_CANARY_ROUTES: JSON.stringify([route(upstreamUrl)]),
        CARACAL_CANARY_ADMIN_API_URL: `http://127.0.0.1:${(cases.address() as AddressInfo).port}`,
        CARACAL_CANARY_ADMIN_API_TOKEN: viewerToken,
        CARACAL_CANARY_ZONE: zone,
        CARACAL_CANARY_POLICY_SET: 'authz',
        CARACAL_CANARY_AGGREGATOR_ADDRESS: `127.0.0.1:${aggregatorPort}`,
        CARACAL_CANARY_INTERVAL_MS: '300',
        CARACAL_CANARY_TIMEOUT_MS: '5000',
        CARACAL_CANARY_RECONNECT_MIN_MS: '50',
        CARACAL_CANARY_RECONNECT_MAX_MS: '500',
        CARACAL_CANARY_METRICS_PORT: String(metricsPort),
        CARACAL_CANARY_GRPC_ADDRESS: healthAddress,
      },
      ready: async () => (await fetch(metricsUrl)).ok,
    });
    processes.push(agent);
    health = createGrpcClient(HealthService, healthAddress);
  });

  after(async () => {
    health?.close();
    for (const service of processes.reverse()) await service.stop();
    await aggregator?.close();
    await auditReader?.close();
    redis?.disconnect();
    await Promise.all([auditTopic?.delete(), logTopic?.delete()]);
    for (const server of [upstream, cases]) {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    }
    await admin.close();
    await coordinator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('derives probes from the expected cases and says which case it cannot map', async () => {
    const text = await waitFor(
      async () => {
        const current = await metrics();
        return sample(current, 'caracal_canary_probes', { source: 'expected_cases' }) === 2
          ? current
          : undefined;
      },
      { timeoutMs: 20_000, description: 'two probes derived from the expected cases' },
    );
    assert.equal(sample(text, 'caracal_canary_probes', { source: 'static' }), 1);
    assert.equal(sample(text, 'caracal_canary_unmapped_cases', { region }), 1);
    assert.match(
      agent.output(),
      /expected case "direct exchange" is not probed: action token\.exchange is no operation of a route fronting resource:\/\/orders/,
    );
  });

  it('holds the reports while the aggregator is down', async () => {
    const text = await waitFor(
      async () => {
        const current = await metrics();
        return sample(current, 'caracal_canary_rounds_total', { region }) >= 3 &&
          sample(current, 'caracal_canary_reports_buffered', { region }) >= 9
          ? current
          : undefined;
      },
      { timeoutMs: 30_000, description: 'three rounds of three probes held by the agent' },
    );
    assert.equal(sample(text, 'caracal_canary_aggregator_connected', { region }), 0);
    assert.equal(sample(text, 'caracal_canary_checks_total', { region, result: 'match' }), 0);
    assert.equal(sample(text, 'caracal_canary_reports_dropped_total', { region }), 0);
    assert.equal(agent.exited(), false);
    const check = await health!.check({ components: [] });
    assert.equal(check.status, ServingStatus.NOT_SERVING);
    assert.match(
      component(check, 'aggregator'),
      /^unhealthy: no open report stream to the aggregator; \d+ reports held/,
    );
    assert.match(component(check, 'gateway'), /^round \d+: the Gateway answered 2 of 3 probes$/);
  });

  it('delivers the held reports once the aggregator is up, with what the Gateway answered', async () => {
    aggregator = new StandInAggregator((report) =>
      classifyByDecision(report, bundles['readWrite']!.revision),
    );
    await aggregator.listen(aggregatorPort);
    // Round 1 was made while the aggregator was down: it arrives now.
    const [read] = await waitFor(
      () => {
        const first = reportsOf('case:read order').filter((report) => report.round === 1n);
        return first.length > 0 ? first : undefined;
      },
      { timeoutMs: 30_000, description: 'the first round of case:read order at the aggregator' },
    );
    assert.equal(read!.agentId, 'agent-e2e');
    assert.equal(read!.region, region);
    assert.equal(read!.zoneId, zone);
    assert.equal(read!.expectedDecision, Decision.ALLOW);
    assert.equal(read!.httpStatus, 200);
    assert.equal(read!.observedDecision, 'allow');
    assert.match(read!.decisionId, uuid);
    assert.equal(read!.observedRevision, bundles['readWrite']!.revision);
    assert.equal(read!.transportError, '');
    assert.ok(read!.latencyMs > 0);
    assert.match(read!.requestId, uuid);
    // The request id is the one the upstream saw and the STS audited for the Gateway's decision.
    const seen = forwarded.find((request) => request.headers['x-request-id'] === read!.requestId);
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.url, '/orders/1');
    const event = await waitFor(
      () =>
        auditReader
          ?.messages(auditTopic!.topic)
          .find((candidate) => candidate['request_id'] === read!.requestId),
      { timeoutMs: 20_000, description: `the audit event of ${read!.requestId}` },
    );
    assert.equal(event['decision'], 'allow');
    assert.equal(event['id'], read!.decisionId);

    // Every round's request id is fresh.
    const ids = reportsOf('case:read order').map((report) => report.requestId);
    assert.equal(new Set(ids).size, ids.length);

    // The purge probe's exchange is denied by the policy: that audited deny is its decision.
    const purge = await waitFor(() => reportsOf('purge-orders')[0], {
      timeoutMs: 20_000,
      description: 'a report of purge-orders',
    });
    assert.equal(purge.httpStatus, 403);
    assert.equal(purge.observedDecision, 'deny');
    assert.equal(purge.observedRevision, bundles['readWrite']!.revision);
    assert.match(purge.decisionId, uuid);

    const text = await waitFor(
      async () => {
        const current = await metrics();
        return sample(current, 'caracal_canary_checks_total', { region, result: 'match' }) >= 9 &&
          sample(current, 'caracal_canary_aggregator_connected', { region }) === 1
          ? current
          : undefined;
      },
      { timeoutMs: 30_000, description: 'the held reports classified and counted as matches' },
    );
    assert.equal(
      sample(text, 'caracal_canary_checks_total', { region, result: 'decision_mismatch' }),
      0,
    );
    assert.ok(sample(text, 'caracal_canary_probe_seconds_count', { region }) >= 9);
    assert.equal((await health!.check({ components: [] })).status, ServingStatus.SERVING);
  });

  it('counts a decision_mismatch when a policy change flips an expected allow to deny', async () => {
    const flipped = bundles['read']!;
    coordinator.bindings.set(zone, { ...flipped, activationId: 'act-read' });
    await redis!.xadd(
      invalidationStream,
      '*',
      ...Object.entries(
        invalidationFields({
          zoneId: zone,
          policySetId: 'set-1',
          policySetVersionId: `version-${flipped.revision.slice(0, 8)}`,
          manifestSha256: flipped.revision,
          activationId: 'act-read',
        }),
      ).flat(),
    );
    // The agent still holds its write token: the Gateway's own decision is the deny.
    const denied = await waitFor(
      () =>
        reportsOf('case:create order').find(
          (report) => report.observedRevision === flipped.revision,
        ),
      { timeoutMs: 30_000, description: 'case:create order decided by the new revision' },
    );
    assert.equal(denied.httpStatus, 403);
    assert.equal(denied.observedDecision, 'deny');
    assert.ok(!forwarded.some((request) => request.headers['x-request-id'] === denied.requestId));
    await waitFor(
      async () =>
        sample(await metrics(), 'caracal_canary_checks_total', {
          region,
          result: 'decision_mismatch',
        }) > 0 || undefined,
      { timeoutMs: 20_000, description: 'decision_mismatch counted' },
    );
  });

  it('records error results while the Gateway is down and keeps probing until it is back', async () => {
    const before = aggregator!.received.length;
    await gateway.stop();
    const failed = await waitFor(
      () =>
        aggregator!.received
          .slice(before)
          .find((report: ProbeReport) => report.transportError.includes(gatewayUrl)),
      { timeoutMs: 30_000, description: 'a report of a probe the Gateway did not answer' },
    );
    assert.equal(failed.httpStatus, 0);
    assert.equal(failed.observedDecision, '');
    await waitFor(
      async () =>
        sample(await metrics(), 'caracal_canary_checks_total', { region, result: 'error' }) > 0 ||
        undefined,
      { timeoutMs: 20_000, description: 'error counted' },
    );
    assert.equal(agent.exited(), false);
    const down = await waitFor(
      async () => {
        const check = await health!.check({ components: ['gateway'] });
        return check.status === ServingStatus.NOT_SERVING ? check : undefined;
      },
      { timeoutMs: 20_000, description: 'the gateway health component to turn unhealthy' },
    );
    assert.match(
      component(down, 'gateway'),
      /^unhealthy: round \d+: 2 of 3 probes got no answer and none reached the Gateway$/,
    );

    await startGateway();
    const lastRound = failed.round;
    const answered = await waitFor(
      () =>
        reportsOf('case:read order').find(
          (report) => report.round > lastRound && report.httpStatus === 200,
        ),
      {
        timeoutMs: 30_000,
        description: 'case:read order answered again after the Gateway restart',
      },
    );
    assert.equal(answered.observedDecision, 'allow');
    // A probe without an answer counts once, as error, though the aggregator classifies it too.
    await waitFor(
      async () => {
        const unanswered = new Set(
          aggregator!.received
            .filter((report) => report.transportError !== '')
            .map((report) => report.requestId),
        );
        const counted = sample(await metrics(), 'caracal_canary_checks_total', {
          region,
          result: 'error',
        });
        return unanswered.size > 0 && counted === unanswered.size ? true : undefined;
      },
      { timeoutMs: 20_000, description: 'one error counted per unanswered probe' },
    );
  });
});
