import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Decision, StsService } from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { createKafka, readTopicRange } from '@caracal-deploy/kafka';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import { OpaCli } from '@caracal-deploy/opa';
import {
  createRedis,
  invalidationFields,
  invalidationStream,
  readReplicaStatuses,
} from '@caracal-deploy/redis';
import { FakeAdminApi, FakeCoordinator, writeEs256Key } from '@caracal-deploy/stand-ins';
import {
  assertReachable,
  createTestTopic,
  freePort,
  infraSettings,
  stsEnv,
  uniqueName,
  waitFor,
  type TestTopic,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { AppModule, StsCoreHost } from './app.module.js';
import { loadStsConfig } from './config/sts.config.js';

const settings = infraSettings();
const adminToken = 'admin-faults-token';
const bundleKeyId = 'bundle-faults';

// Each bundle's result names the bundle it came from, so a decision whose
// result and revision disagree (a decision that saw a half-swapped runtime)
// cannot go unnoticed: `determining_policies[0].id` is the bundle's marker.
const markedPolicy = `package caracal.authz

result := {"decision": decision, "evaluation_status": "complete", "determining_policies": [{"id": data.marker}], "diagnostics": []}

default decision := "deny"

decision := "allow" if {
	every scope in input.context.requested_scopes { scope in data.allowed_scopes }
}
`;

interface MarkedBundle {
  readonly marker: string;
  readonly revision: string;
  readonly bundleSha256: string;
  readonly bytes: Uint8Array;
  /** What the bundle decides for a request of the `write` scope. */
  readonly writeDecision: 'allow' | 'deny';
}

/** A Redis server of the test's own, on a port of its own, that the test stops and starts again. */
class PrivateRedis {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout.off('data', onData);
          child.stdout.resume();
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.resume();
      child.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
    });
  }

  /** SIGKILL: the server vanishes the way a crashed or partitioned one does. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

// Faults against real components: OPA-built signed bundles, the real Kafka, and
// a Redis of the test's own that it kills and restarts. The Admin API and the
// coordinator are service boundaries, stood in for on loopback.
describe('STS under faults: bundle swaps under load and a Redis outage', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const admin = new FakeAdminApi(adminToken);
  const coordinator = new FakeCoordinator();
  const zone = uniqueName('faults').replaceAll('_', '-');
  const bundles: Record<string, MarkedBundle> = {};
  let dir: string;
  let redisServer: PrivateRedis;
  let redis: Redis | undefined;
  let auditTopic: TestTopic;
  let logTopic: TestTopic;
  let app: INestApplicationContext;
  let grpc: GrpcClient<typeof StsService>;
  let baseUrl: string;
  let metricsUrl: string;
  const checkIntervalMs = 200;

  const build = async (
    marker: string,
    allowedScopes: string[],
    keyPath: string,
  ): Promise<MarkedBundle> => {
    const src = join(dir, marker);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'policy.rego'), markedPolicy);
    await writeFile(
      join(src, 'data.json'),
      JSON.stringify({ marker, allowed_scopes: allowedScopes }),
    );
    const claimsPath = join(dir, `${marker}.claims.json`);
    await writeFile(claimsPath, JSON.stringify({ keyid: bundleKeyId }));
    const revision = createHash('sha256').update(`faults:${marker}`).digest('hex');
    const bytes = await opa.buildWasm('.', ['caracal/authz/result'], {
      bundle: true,
      cwd: src,
      revision,
      signing: { keyPath, algorithm: 'ES256', claimsPath },
    });
    const bundleSha256 = createHash('sha256').update(bytes).digest('hex');
    admin.bundles.set(bundleSha256, bytes);
    return {
      marker,
      revision,
      bundleSha256,
      bytes,
      writeDecision: allowedScopes.includes('write') ? 'allow' : 'deny',
    };
  };

  const invalidate = async (target: MarkedBundle, activationId: string) => {
    coordinator.bindings.set(zone, { ...target, activationId });
    redis ??= await createRedis(redisServer.url);
    await redis.xadd(
      invalidationStream,
      '*',
      ...Object.entries(
        invalidationFields({
          zoneId: zone,
          policySetId: 'set-1',
          policySetVersionId: `version-${target.marker}`,
          manifestSha256: target.revision,
          activationId,
        }),
      ).flat(),
    );
  };

  const input = (scopes: string[]) => ({
    schema_version: '2026-05-20',
    principal: { type: 'User', id: 'user-1', zone_id: zone },
    resource: { type: 'http', id: 'res-orders', identifier: 'resource://orders', scopes },
    action: { id: 'POST /orders', method: 'POST', path: '/orders' },
    context: { actor_claims: {}, challenge_resolved: false, requested_scopes: scopes },
  });

  /** One decision over HTTP `POST /v1/decide`: status and body. */
  const decideHttp = async (requestId: string) => {
    const response = await fetch(`${baseUrl}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ zone_id: zone, request_id: requestId, input: input(['write']) }),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        decision: string;
        decision_id: string;
        revision: string | null;
        result: { determining_policies: { id: string }[] } | null;
      },
    };
  };

  const policyAge = async (): Promise<number | undefined> => {
    const text = await (await fetch(metricsUrl)).text();
    const match = new RegExp(
      `caracal_sts_policy_age_seconds\\{[^}]*zone="${zone}"[^}]*\\} ([0-9.e+-]+)`,
    ).exec(text);
    return match ? Number(match[1]) : undefined;
  };

  before(async () => {
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'sts-faults-'));
    const keyPath = await writeEs256Key(dir, 'bundle-signing.pem');
    bundles['v1'] = await build('v1', ['read'], keyPath);
    bundles['v2'] = await build('v2', ['read', 'write'], keyPath);
    bundles['v3'] = await build('v3', ['write'], keyPath);
    admin.catalogs.set(zone, []);
    coordinator.bindings.set(zone, { ...bundles['v1'], activationId: 'act-1' });
    const adminUrl = await admin.listen();
    const coordinatorAddress = await coordinator.listen();
    redisServer = new PrivateRedis(await freePort());
    await redisServer.start();
    auditTopic = await createTestTopic(settings.kafkaBrokers);
    logTopic = await createTestTopic(settings.kafkaBrokers);
    const config = loadStsConfig(
      stsEnv({
        replicaId: 'sts-faults-1',
        region: 'faults',
        zones: [zone],
        signingKeyFile: join(dir, 'signing.pem'),
        subjectKeyFile: join(dir, 'subject.pem'),
        bundlePublicKeyFile: keyPath,
        bundleSigningKeyId: bundleKeyId,
        adminApiUrl: adminUrl,
        adminApiToken: adminToken,
        coordinatorAddress,
        redisUrl: redisServer.url,
        kafkaBrokers: settings.kafkaBrokers,
        auditTopic: auditTopic.topic,
        decisionLogTopic: logTopic.topic,
        policyCheckIntervalMs: checkIntervalMs,
      }),
    );
    app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: false,
      abortOnError: false,
    });
    baseUrl = `http://127.0.0.1:${app.get(StsCoreHost).httpPort}`;
    metricsUrl = `http://127.0.0.1:${app.get(MetricsServerHost).port}/metrics`;
    grpc = createGrpcClient(StsService, `127.0.0.1:${app.get(GrpcServerHost).port}`);
  });

  after(async () => {
    grpc?.close();
    await app?.close();
    redis?.disconnect();
    await redisServer?.kill();
    await Promise.all([auditTopic?.delete(), logTopic?.delete()]);
    await admin.close();
    await coordinator.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('swaps bundles under continuous load with no failed and no mixed decision, each audited with its revision', async () => {
    interface Observed {
      readonly decisionId: string;
      readonly decision: string;
      readonly revision: string;
      readonly marker: string | undefined;
    }
    const observed: Observed[] = [];
    const failures: string[] = [];
    let running = true;
    let sequence = 0;
    // Half the callers use gRPC Decide (the Gateway's path), half HTTP /v1/decide.
    const grpcCaller = async () => {
      while (running) {
        const requestId = `swap-grpc-${sequence++}`;
        try {
          const answer = await grpc.decide({
            zoneId: zone,
            requestId,
            inputJson: JSON.stringify(input(['write'])),
          });
          const result = JSON.parse(answer.resultJson) as {
            determining_policies: { id: string }[];
          };
          observed.push({
            decisionId: answer.decisionId,
            decision: answer.decision === Decision.ALLOW ? 'allow' : 'deny',
            revision: answer.revision,
            marker: result.determining_policies[0]?.id,
          });
        } catch (error) {
          failures.push(`${requestId}: ${(error as Error).message}`);
        }
      }
    };
    const httpCaller = async () => {
      while (running) {
        const requestId = `swap-http-${sequence++}`;
        try {
          const answer = await decideHttp(requestId);
          if (answer.status !== 200) {
            failures.push(`${requestId}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
            continue;
          }
          observed.push({
            decisionId: answer.body.decision_id,
            decision: answer.body.decision,
            revision: answer.body.revision ?? '',
            marker: answer.body.result?.determining_policies[0]?.id,
          });
        } catch (error) {
          failures.push(`${requestId}: ${(error as Error).message}`);
        }
      }
    };
    const callers = [grpcCaller(), grpcCaller(), grpcCaller(), httpCaller(), httpCaller()];

    // v1 → v2 → v3 → v1 → v2 while the callers keep deciding; after each swap,
    // wait until decisions on the new revision have been made.
    const sequenceOfSwaps = ['v2', 'v3', 'v1', 'v2'];
    const swapsSeen: { from: number; firstNew: number }[] = [];
    try {
      await waitFor(() => (observed.length > 20 ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 10,
        description: 'decisions on v1 before the first swap',
      });
      for (const [i, name] of sequenceOfSwaps.entries()) {
        const target = bundles[name]!;
        const from = observed.length;
        await invalidate(target, `act-swap-${i}`);
        const firstNew = await waitFor(
          () => {
            const index = observed.findIndex((o, k) => k >= from && o.revision === target.revision);
            return index >= 0 && observed.length > index + 20 ? index : undefined;
          },
          { timeoutMs: 20_000, intervalMs: 10, description: `decisions on ${name}` },
        );
        swapsSeen.push({ from, firstNew });
      }
    } finally {
      running = false;
      await Promise.all(callers);
    }

    assert.deepEqual(failures, [], 'no decision failed during the swaps');
    const byRevision = new Map(Object.values(bundles).map((b) => [b.revision, b]));
    const mixed = observed.filter((o) => {
      const bundle = byRevision.get(o.revision);
      return !bundle || o.marker !== bundle.marker || o.decision !== bundle.writeDecision;
    });
    assert.deepEqual(mixed, [], 'every decision was made entirely by the bundle it names');
    // Decisions kept flowing through each swap: some on the old revision after the
    // invalidation was sent, then the new one.
    for (const swap of swapsSeen) assert.ok(swap.firstNew >= swap.from);
    assert.ok(observed.length > sequenceOfSwaps.length * 20);

    // Every decision's audit event names the revision (and decision) the caller saw.
    const expected = new Map(observed.map((o) => [o.decisionId, o]));
    const audited = new Map<string, { manifest_sha: string; decision: string }>();
    const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'sts-faults-reader' });
    await waitFor(
      async () => {
        for await (const message of readTopicRange(kafka, { topic: auditTopic.topic })) {
          const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as {
            id: string;
            manifest_sha: string;
            decision: string;
          };
          audited.set(event.id, event);
        }
        return [...expected.keys()].every((id) => audited.has(id)) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the audit event of every decision' },
    );
    for (const [id, seen] of expected) {
      const event = audited.get(id)!;
      assert.equal(event.manifest_sha, `sha256:${seen.revision}`, `audit event ${id}`);
      assert.equal(event.decision, seen.decision, `audit event ${id}`);
    }
  });

  it('keeps serving the last good bundle while Redis is down, with a climbing policy age, and recovers when it returns', async () => {
    const serving = coordinator.bindings.get(zone)!;
    const before = await decideHttp('redis-up-1');
    assert.equal(before.status, 200);
    assert.equal(before.body.revision, serving.revision);
    // In sync: the periodic check keeps confirming, so the age stays near zero.
    await waitFor(async () => (((await policyAge()) ?? Infinity) < 1 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      description: 'a fresh confirmation while Redis is up',
    });

    await redisServer.kill();
    redis?.disconnect();
    redis = undefined;
    // Checks still reach the coordinator, but the replica can neither hear
    // invalidations nor report itself: it must not count itself confirmed.
    const climbing = await waitFor(
      async () => {
        const age = await policyAge();
        return age !== undefined && age > (10 * checkIntervalMs) / 1000 ? age : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'the policy age to climb past 10 checks' },
    );
    await waitFor(async () => (((await policyAge()) ?? 0) > climbing ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the policy age to keep climbing',
    });
    for (let i = 0; i < 5; i += 1) {
      const during = await decideHttp(`redis-down-${i}`);
      assert.equal(during.status, 200, 'decisions go on while Redis is down');
      assert.equal(during.body.revision, serving.revision, 'on the last good bundle');
    }

    await redisServer.start();
    // Back: the next check reports and confirms again, so the age drops.
    await waitFor(async () => (((await policyAge()) ?? Infinity) < climbing ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the policy age to drop after Redis returns',
    });
    redis = await createRedis(redisServer.url);
    const statuses = await waitFor(
      async () => {
        const found = await readReplicaStatuses(redis!, zone);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'the replica status in the new Redis' },
    );
    assert.equal(statuses[0]!.revision, serving.revision);
    // The invalidation follower is back on the new server, blocked in its XREAD…
    await waitFor(
      async () =>
        /name=caracal-sts-sts-faults-1 .*cmd=xread/.test(
          String(await redis!.call('CLIENT', 'LIST')),
        )
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 100, description: 'the stream follower to reconnect' },
    );
    // …and an activation announced there is served.
    const next = Object.values(bundles).find((b) => b.revision !== serving.revision)!;
    await invalidate(next, 'act-after-outage');
    const after = await waitFor(
      async () => {
        const answer = await decideHttp('redis-back');
        return answer.body.revision === next.revision ? answer : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: 'the replica to serve the next bundle' },
    );
    assert.equal(after.status, 200);
    assert.equal(after.body.decision, next.writeDecision);
  });
});
