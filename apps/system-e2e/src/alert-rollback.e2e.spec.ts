import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  ActivationService,
  ActivationState,
  ActivationTrigger,
  Decision,
  RollbackOutcome,
  RollbackService,
  StsService,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createAdminToken,
  createTestDatabase,
  createTestTopic,
  freePort,
  infraSettings,
  registerScrapeTarget,
  startControlPlane,
  startRollbackController,
  uniqueName,
  waitFor,
  type RunningService,
  type TestDatabase,
  type ScrapeTarget,
  type TestTopic,
} from '@caracal-deploy/testing';

import { adminCall, startSts } from './support/services.test-support.js';
import { pushPolicySetVersion, stsInput } from './support/policies.test-support.js';

const settings = infraSettings();

/** v1 lets a read of the catalog's resource through; v2 denies everything (the bad change). */
const allowReads = `package caracal.authz

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []} if {
	input.action.id == "read"
}
`;
const denyEverything = `package caracal.authz

result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "lockdown"}], "diagnostics": []}
`;

/**
 * The whole alert-driven rollback loop on real parts: two STS replicas serve a
 * zone and are scraped by the real Prometheus; a bad policy-set version makes
 * them deny everything; the `CaracalDenyRateSpike` rule fires for the zone and
 * revision; the real Alertmanager calls the rollback-controller's webhook; the
 * controller rolls the zone back to its last known good version through the
 * activation coordinator; every replica serves it again, and the rollback is on
 * record with its trigger.
 */
describe('alert-driven rollback: Prometheus → Alertmanager → rollback-controller → every STS replica', () => {
  const zone = uniqueName('alerts')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const keyDir = mkdtempSync(join(tmpdir(), 'system-e2e-'));
  let scrapeTarget: ScrapeTarget | undefined;
  const services: RunningService[] = [];
  let registry: TestDatabase;
  let rollbackDb: TestDatabase;
  let audit: TestTopic;
  let decisionLogs: TestTopic;
  let activation: GrpcClient<typeof ActivationService>;
  let rollbacks: GrpcClient<typeof RollbackService>;
  const replicas: GrpcClient<typeof StsService>[] = [];
  let good = { versionId: '', revision: '' };
  let bad = { versionId: '', revision: '' };
  let traffic: NodeJS.Timeout | undefined;

  before(async () => {
    for (const component of ['postgres', 'redis', 'kafka', 'opa', 'prometheus'] as const) {
      await assertReachable(component, settings);
    }
    registry = await createTestDatabase(settings);
    rollbackDb = await createTestDatabase(settings);
    audit = await createTestTopic(settings.kafkaBrokers);
    decisionLogs = await createTestTopic(settings.kafkaBrokers);

    const { coordinator, admin } = await startControlPlane(
      settings,
      { databaseUrl: registry.url, keyDir, keyId: 'system-e2e' },
      services,
    );
    const author = await createAdminToken(registry.url, 'admin', 'system-e2e');
    const viewer = await createAdminToken(registry.url, 'viewer', 'sts');

    await adminCall(admin.httpUrl, author, 'POST', '/v1/zones', { name: zone });
    await adminCall(admin.httpUrl, author, 'POST', `/v1/zones/${zone}/resources`, {
      identifier: 'resource://api',
      id: 'resource-1',
      type: 'http',
      scopes: ['read', 'write'],
      operations: ['GET', 'POST'],
    });
    good = await pushPolicySetVersion(admin.httpUrl, author, zone, allowReads);
    bad = await pushPolicySetVersion(admin.httpUrl, author, zone, denyEverything);

    const metricsPorts: number[] = [];
    for (const replica of ['a', 'b']) {
      const metricsPort = await freePort();
      metricsPorts.push(metricsPort);
      const sts = await startSts(settings, {
        replicaId: `${zone}-${replica}`,
        region: `region-${replica}`,
        zones: [zone],
        keyDir,
        metricsPort,
        adminApiUrl: admin.httpUrl,
        adminApiToken: viewer,
        coordinatorAddress: coordinator.grpcAddress,
        auditTopic: audit.topic,
        decisionLogTopic: decisionLogs.topic,
      });
      services.push(sts);
      replicas.push(createGrpcClient(StsService, sts.grpcAddress, { defaultTimeoutMs: 5_000 }));
    }
    const controller = await startRollbackController({
      databaseUrl: rollbackDb.url,
      coordinatorAddress: coordinator.grpcAddress,
      webhookUrl: settings.alertmanagerWebhookUrl,
      readyWhenAnswering: true,
    });
    services.push(controller);

    activation = createGrpcClient(ActivationService, coordinator.grpcAddress, {
      defaultTimeoutMs: 10_000,
    });
    rollbacks = createGrpcClient(RollbackService, controller.grpcAddress, {
      defaultTimeoutMs: 10_000,
    });
    // Prometheus discovers the replicas through file_sd, as it would in a cluster.
    scrapeTarget = await registerScrapeTarget(
      settings,
      zone,
      metricsPorts.map((port) => `127.0.0.1:${port}`),
      { service: 'sts', test: zone },
    );
  });

  after(async () => {
    if (traffic) clearInterval(traffic);
    await scrapeTarget?.remove();
    for (const client of [activation, rollbacks, ...replicas]) client?.close();
    for (const service of services.reverse()) await service.process.stop();
    await Promise.allSettled([
      registry?.drop(),
      rollbackDb?.drop(),
      audit?.delete(),
      decisionLogs?.delete(),
    ]);
    rmSync(keyDir, { recursive: true, force: true });
  });

  /** Waits until the activation converged on every live replica; returns its status. */
  async function converged(activationId: string) {
    return waitFor(
      async () => {
        const { status } = await activation.getActivation({ activationId });
        return status?.state === ActivationState.CONVERGED ? status : undefined;
      },
      { timeoutMs: 30_000, description: `activation ${activationId} to converge` },
    );
  }

  it('rolls the zone back to its last known good version when the deny-spike alert fires', async () => {
    const first = await activation.activate({
      zoneId: zone,
      policySetVersionId: good.versionId,
      expectedActiveVersionId: '',
      idempotencyKey: `${zone}-good`,
      reason: 'first version',
      actor: 'system-e2e',
      trigger: ActivationTrigger.MANUAL,
    });
    const firstStatus = await converged(first.activation!.activationId);
    assert.equal(firstStatus.liveReplicas, 2);

    // Steady traffic on both replicas: reads, which v1 allows.
    let decided = 0;
    traffic = setInterval(() => {
      for (const replica of replicas) {
        replica
          .decide({ zoneId: zone, requestId: '', inputJson: stsInput(zone) })
          .then(() => (decided += 1))
          .catch(() => undefined);
      }
    }, 50);
    const allowed = await replicas[0]!.decide({
      zoneId: zone,
      requestId: '',
      inputJson: stsInput(zone),
    });
    assert.equal(allowed.decision, Decision.ALLOW);
    assert.equal(allowed.revision, good.revision);

    const second = await activation.activate({
      zoneId: zone,
      policySetVersionId: bad.versionId,
      expectedActiveVersionId: good.versionId,
      idempotencyKey: `${zone}-bad`,
      reason: 'the change that locks everyone out',
      actor: 'system-e2e',
      trigger: ActivationTrigger.MANUAL,
    });
    await converged(second.activation!.activationId);
    const denied = await replicas[1]!.decide({
      zoneId: zone,
      requestId: '',
      inputJson: stsInput(zone),
    });
    assert.equal(denied.decision, Decision.DENY);
    assert.equal(denied.revision, bad.revision);

    // Prometheus scrapes, the rule fires, Alertmanager delivers, the controller rolls back.
    const record = await waitFor(
      async () => {
        const { rollbacks: list } = await rollbacks.listRollbacks({ zoneId: zone, pageSize: 10 });
        return list.find((r) => r.outcome === RollbackOutcome.ROLLED_BACK);
      },
      { timeoutMs: 120_000, intervalMs: 500, description: `an alert-driven rollback of ${zone}` },
    );
    assert.equal(record.trigger, ActivationTrigger.ROLLBACK_ALERT);
    assert.equal(record.fromPolicySetVersionId, bad.versionId);
    assert.equal(record.toPolicySetVersionId, good.versionId);
    assert.equal(record.triggerDetails['alertname'], 'CaracalDenyRateSpike');

    const rolledBack = await converged(record.activationId);
    assert.equal(rolledBack.activation?.policySetVersionId, good.versionId);
    assert.equal(rolledBack.activation?.trigger, ActivationTrigger.ROLLBACK_ALERT);
    assert.equal(rolledBack.liveReplicas, 2);
    assert.deepEqual(
      rolledBack.replicas.map((r) => [r.replicaId, r.revision, r.serving]),
      [
        [`${zone}-a`, good.revision, true],
        [`${zone}-b`, good.revision, true],
      ],
    );
    for (const replica of replicas) {
      const answer = await replica.decide({
        zoneId: zone,
        requestId: '',
        inputJson: stsInput(zone),
      });
      assert.equal(answer.decision, Decision.ALLOW);
      assert.equal(answer.revision, good.revision);
    }

    // The zone's history names all three activations and why each happened.
    const { activations } = await activation.listActivations({ zoneId: zone, pageSize: 10 });
    assert.deepEqual(
      activations.map((a) => [a.activation?.policySetVersionId, a.activation?.trigger]),
      [
        [good.versionId, ActivationTrigger.ROLLBACK_ALERT],
        [bad.versionId, ActivationTrigger.MANUAL],
        [good.versionId, ActivationTrigger.MANUAL],
      ],
    );
    assert.ok(decided > 0, 'traffic flowed through both replicas');

    // Alertmanager keeps notifying while the alert is active, and resolves it
    // later; none of that causes a second rollback.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const { rollbacks: all } = await rollbacks.listRollbacks({ zoneId: zone, pageSize: 50 });
    assert.equal(all.filter((r) => r.outcome === RollbackOutcome.ROLLED_BACK).length, 1);
    const { binding } = await activation.getActiveBinding({ zoneId: zone });
    assert.equal(binding?.policySetVersionId, good.versionId);
  });
});
