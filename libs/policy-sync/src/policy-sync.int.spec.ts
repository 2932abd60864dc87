import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import { OpaCli, readBundle } from '@caracal-deploy/opa';
import {
  createRedis,
  invalidationFields,
  invalidationStream,
  readReplicaStatuses,
  replicaStatusKey,
} from '@caracal-deploy/redis';
import { assertReachable, infraSettings, uniqueName, waitFor } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { PolicySync, type ActiveBindingReader, type BindingTarget } from './index.js';

const settings = infraSettings();

const rego = `package caracal.authz

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []} if {
	every scope in input.context.requested_scopes { scope in data.allowed_scopes }
}
`;

/** The coordinator's bindings, changed by the test; `down` makes reads fail. */
class Bindings implements ActiveBindingReader {
  readonly byZone = new Map<string, BindingTarget>();
  down = false;
  read(zoneId: string): Promise<BindingTarget | null> {
    if (this.down) return Promise.reject(new Error('coordinator unreachable'));
    return Promise.resolve(this.byZone.get(zoneId) ?? null);
  }
}

describe('PolicySync: two replicas following invalidations against real Redis', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const bundles = new Map<string, Uint8Array>();
  const bindings = new Bindings();
  const zone = uniqueName('zone');
  const replicas: { sync: PolicySync; runtime: ZonePolicyRuntime }[] = [];
  const targets: Record<string, BindingTarget> = {};
  let dir: string;
  let redis: Redis;

  const build = async (name: string, scopes: string[]): Promise<BindingTarget> => {
    const src = join(dir, name);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'policy.rego'), rego);
    await writeFile(join(src, 'data.json'), JSON.stringify({ allowed_scopes: scopes }));
    const revision = createHash('sha256').update(name).digest('hex');
    const bytes = await opa.buildWasm(src, ['caracal/authz/result'], { revision });
    const bundleSha256 = createHash('sha256').update(bytes).digest('hex');
    bundles.set(bundleSha256, bytes);
    return { zoneId: zone, revision, bundleSha256, activationId: `act-${name}` };
  };

  const publish = (target: BindingTarget) =>
    redis.xadd(
      invalidationStream,
      '*',
      ...Object.entries(
        invalidationFields({
          zoneId: target.zoneId,
          policySetId: 'set-1',
          policySetVersionId: `v-${target.activationId}`,
          manifestSha256: target.revision,
          activationId: target.activationId,
        }),
      ).flat(),
    );

  const served = async () => (await readReplicaStatuses(redis, zone)).map((s) => s.revision);
  const untilAllServe = (revision: string, description: string) =>
    waitFor(
      async () =>
        (await served()).every((r) => r === revision) && (await served()).length === 2
          ? true
          : undefined,
      {
        timeoutMs: 10_000,
        intervalMs: 20,
        description,
      },
    );

  before(async () => {
    await assertReachable('redis', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'policy-sync-int-'));
    redis = await createRedis(settings.redisUrl);
    targets['v1'] = await build('v1', ['read']);
    targets['v2'] = await build('v2', ['read', 'write']);
    targets['v3'] = await build('v3', ['admin']);
    bindings.byZone.set(zone, targets['v1']);
    for (const replicaId of ['sts-eu-1', 'sts-eu-2']) {
      const runtime = new ZonePolicyRuntime({
        zoneId: zone,
        source: { fetch: (sha) => Promise.resolve(bundles.get(sha) ?? new Uint8Array()) },
        verify: (bytes) => ({ revision: readBundle(bytes).manifest.revision }),
      });
      const sync = new PolicySync({
        replicaId,
        region: 'eu',
        runtimes: new Map([[zone, runtime]]),
        bindings,
        redisUrl: settings.redisUrl,
        redis,
        // Long enough that only invalidations can explain fast convergence in the first test.
        checkIntervalMs: 60_000,
      });
      await sync.start();
      replicas.push({ sync, runtime });
    }
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.sync.stop()));
    await redis.del(replicaStatusKey(zone, 'sts-eu-1'), replicaStatusKey(zone, 'sts-eu-2'));
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the active binding at start and reports both replicas', async () => {
    await untilAllServe(targets['v1']!.revision, 'both replicas to report v1');
    for (const { runtime } of replicas) {
      assert.equal(runtime.decide({ context: { requested_scopes: ['write'] } }).decision, 'deny');
    }
  });

  it('moves every replica on one invalidation message (no consumer group)', async () => {
    bindings.byZone.set(zone, targets['v2']!);
    await publish(targets['v2']!);
    await untilAllServe(targets['v2']!.revision, 'both replicas to serve v2 after one message');
    for (const { runtime } of replicas) {
      assert.equal(runtime.decide({ context: { requested_scopes: ['write'] } }).decision, 'allow');
    }
  });

  it('treats the binding as the truth: a stale message does not roll back', async () => {
    await publish(targets['v1']!);
    // A fresh message for the current binding proves the stale one was processed first.
    await publish(targets['v2']!);
    await untilAllServe(targets['v2']!.revision, 'replicas to stay on v2');
    for (const { runtime } of replicas)
      assert.equal(runtime.active?.revision, targets['v2']!.revision);
  });

  it('repairs a missed message on the periodic check', async () => {
    bindings.byZone.set(zone, targets['v3']!);
    // No message published. A sync with the periodic trigger is what the timer runs.
    await Promise.all(replicas.map(({ sync }) => sync.sync(zone, 'periodic')));
    await untilAllServe(targets['v3']!.revision, 'the periodic check to converge both replicas');
  });

  it('keeps serving and stops confirming while the coordinator is unreachable', async () => {
    const before = replicas.map(({ runtime }) => runtime.confirmedAt?.getTime());
    bindings.down = true;
    try {
      await Promise.all(replicas.map(({ sync }) => sync.sync(zone, 'periodic')));
      for (const [i, { runtime }] of replicas.entries()) {
        assert.equal(runtime.active?.revision, targets['v3']!.revision);
        assert.equal(
          runtime.confirmedAt?.getTime(),
          before[i],
          'not confirmed without the binding',
        );
      }
    } finally {
      bindings.down = false;
    }
  });

  it('counts a confirmation only once it is reported where the coordinator reads it', async () => {
    // A replica whose status connection is closed: every status write fails.
    const statusRedis = await createRedis(settings.redisUrl);
    statusRedis.disconnect();
    const outcomes: string[] = [];
    let writeFailures = 0;
    const runtime = new ZonePolicyRuntime({
      zoneId: zone,
      source: { fetch: (sha) => Promise.resolve(bundles.get(sha) ?? new Uint8Array()) },
      verify: (bytes) => ({ revision: readBundle(bytes).manifest.revision }),
    });
    const cut = new PolicySync({
      replicaId: 'sts-eu-3',
      region: 'eu',
      runtimes: new Map([[zone, runtime]]),
      bindings,
      redisUrl: settings.redisUrl,
      redis: statusRedis,
      checkIntervalMs: 60_000,
      events: {
        onSynced: (_zone, _trigger, outcome) => outcomes.push(outcome),
        onStatusWriteFailed: () => (writeFailures += 1),
      },
    });
    await cut.start();
    try {
      const loadedAt = runtime.confirmedAt?.getTime();
      await cut.sync(zone, 'periodic');
      assert.deepEqual(outcomes, ['applied', 'unconfirmed']);
      assert.equal(runtime.active?.revision, targets['v3']!.revision, 'it keeps serving');
      assert.equal(
        runtime.confirmedAt?.getTime(),
        loadedAt,
        'the unreported check confirms nothing',
      );
      assert.equal(writeFailures, 2);
      // A replica that can report confirms on the same check.
      const { sync, runtime: reporting } = replicas[0]!;
      const before = reporting.confirmedAt!.getTime();
      await sync.sync(zone, 'periodic');
      assert.ok(reporting.confirmedAt!.getTime() > before);
    } finally {
      await cut.stop();
    }
  });
});
