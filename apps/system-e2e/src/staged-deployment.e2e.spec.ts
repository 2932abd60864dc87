import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  ActivationService,
  ActivationTrigger,
  DeploymentService,
  DeploymentState,
  StageState,
  VerdictState,
  ZoneState,
  type Deployment,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createTestDatabase,
  createTestTopic,
  infraSettings,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';

import {
  adminCall,
  createAdminToken,
  freeAddress,
  startAdminApi,
  startAggregator,
  startCanary,
  startCoordinator,
  startGateway,
  startRollbackController,
  startSts,
  startValidator,
  type RunningService,
} from './support/services.test-support.js';
import {
  policyInput,
  pushPolicySetVersion,
  putExpectedCases,
  type PushedVersion,
} from './support/policies.test-support.js';

const settings = infraSettings();

/** Reads are allowed (the canary's expectation); `marker` makes each version's content distinct. */
const allowReads = (marker: string) => `package caracal.authz

# ${marker}
default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []} if {
	"read" in input.context.requested_scopes
}
`;
/** The bad change: reads are denied too. */
const denyEverything = `package caracal.authz

result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "lockdown"}], "diagnostics": []}
`;

const slug = (prefix: string) =>
  uniqueName(prefix)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');

/**
 * Issue 7's acceptance scenario on real parts, two regions: zone A is served by
 * two STS replicas in region `eu`, zone B by two in region `us`; each region has
 * a Gateway in front of an upstream and a canary agent probing through it; the
 * verification-aggregator joins every probe to the STS audit event. A good
 * change deploys in two stages (A in eu, then B in us), passes, and becomes the
 * last known good. A bad change fails verification in stage 1 and is rolled
 * back automatically to that version; stage 2 is never touched.
 */
describe('staged deployments across two regions, verified by canaries and audit events', () => {
  const zones = { eu: slug('stage_eu'), us: slug('stage_us') };
  const dir = mkdtempSync(join(tmpdir(), 'system-e2e-deploy-'));
  const services: RunningService[] = [];
  const databases: TestDatabase[] = [];
  let audit: TestTopic;
  let decisionLogs: TestTopic;
  let upstream: Server;
  let activation: GrpcClient<typeof ActivationService>;
  let deployments: GrpcClient<typeof DeploymentService>;
  const versions: Record<'eu' | 'us', Record<'v1' | 'v2' | 'bad', PushedVersion>> = {
    eu: {} as never,
    us: {} as never,
  };

  before(async () => {
    for (const component of ['postgres', 'redis', 'kafka', 'opa'] as const) {
      await assertReachable(component, settings);
    }
    const [registry, rollbackDb, verifierDb] = await Promise.all([
      createTestDatabase(settings),
      createTestDatabase(settings),
      createTestDatabase(settings),
    ]);
    databases.push(registry, rollbackDb, verifierDb);
    audit = await createTestTopic(settings.kafkaBrokers);
    decisionLogs = await createTestTopic(settings.kafkaBrokers);
    upstream = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200).end('upstream'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;

    // The coordinator, the aggregator and the rollback-controller call each other: fix their addresses first.
    const addresses = {
      coordinator: await freeAddress(),
      verifier: await freeAddress(),
    };
    const validator = await startValidator(settings, dir);
    services.push(validator);
    const controller = await startRollbackController(settings, {
      databaseUrl: rollbackDb.url,
      coordinatorAddress: addresses.coordinator,
      webhookUrl: `http://127.0.0.1:${(await freeAddress()).split(':')[1]}/v1/webhooks/alertmanager`,
    });
    services.push(controller);
    const coordinator = await startCoordinator(
      settings,
      registry.url,
      { verifierAddress: addresses.verifier, rollbackAddress: controller.grpcAddress },
      addresses.coordinator,
    );
    services.push(coordinator);
    const verifier = await startAggregator(settings, {
      databaseUrl: verifierDb.url,
      coordinatorAddress: coordinator.grpcAddress,
      auditTopic: audit.topic,
      grpcAddress: addresses.verifier,
    });
    services.push(verifier);
    const admin = await startAdminApi({
      databaseUrl: registry.url,
      validatorAddress: validator.grpcAddress,
      coordinatorAddress: coordinator.grpcAddress,
    });
    services.push(admin);
    const author = await createAdminToken(registry.url, 'admin', 'system-e2e');
    const viewer = await createAdminToken(registry.url, 'viewer', 'sts');

    for (const region of ['eu', 'us'] as const) {
      const zone = zones[region];
      await adminCall(admin.httpUrl, author, 'POST', '/v1/zones', { name: zone });
      await adminCall(admin.httpUrl, author, 'POST', `/v1/zones/${zone}/resources`, {
        identifier: 'resource://api',
        id: 'resource-1',
        type: 'http',
        scopes: ['read', 'write'],
        operations: ['GET', 'POST'],
      });
      // The set's expected cases cover writes only: the bad change below passes
      // them (and so pre-flight), and only the canaries' reads catch it.
      await putExpectedCases(admin.httpUrl, author, zone, [
        { name: 'writes are denied', input: policyInput(zone, 'write'), expected_decision: 'deny' },
      ]);
      versions[region] = {
        v1: await pushPolicySetVersion(admin.httpUrl, author, zone, allowReads('v1')),
        v2: await pushPolicySetVersion(admin.httpUrl, author, zone, allowReads('v2')),
        bad: await pushPolicySetVersion(admin.httpUrl, author, zone, denyEverything),
      };
    }

    activation = createGrpcClient(ActivationService, coordinator.grpcAddress, {
      defaultTimeoutMs: 10_000,
    });
    deployments = createGrpcClient(DeploymentService, coordinator.grpcAddress, {
      defaultTimeoutMs: 10_000,
    });

    for (const region of ['eu', 'us'] as const) {
      const zone = zones[region];
      const replicas = [];
      for (const index of [0, 1]) {
        const sts = await startSts(settings, {
          replicaId: `${zone}-${index}`,
          region,
          zones: [zone],
          keyDir: dir,
          metricsPort: 0,
          adminApiUrl: admin.httpUrl,
          adminApiToken: viewer,
          coordinatorAddress: coordinator.grpcAddress,
          auditTopic: audit.topic,
          decisionLogTopic: decisionLogs.topic,
        });
        services.push(sts);
        replicas.push(sts);
      }
      // v1 is live in both zones before any deployment: the first rollback version.
      const first = await activation.activate({
        zoneId: zone,
        policySetVersionId: versions[region].v1.versionId,
        expectedActiveVersionId: '',
        idempotencyKey: `${zone}-v1`,
        reason: 'initial version',
        actor: 'system-e2e',
        trigger: ActivationTrigger.MANUAL,
      });
      await waitFor(
        async () => {
          const { status } = await activation.getActivation({
            activationId: first.activation!.activationId,
          });
          return status?.servingReplicas === 2 ? true : undefined;
        },
        { timeoutMs: 30_000, description: `zone ${zone} to serve v1 on both replicas` },
      );
      // Both replicas of a region issue under the first one's issuer name.
      const gateway = await startGateway({
        region,
        upstream: upstreamUrl,
        sts: replicas.map((r) => ({ grpcAddress: r.grpcAddress, httpUrl: r.httpUrl })),
        issuer: replicas[0]!.httpUrl,
      });
      services.push(gateway);
      const probesFile = join(dir, `probes-${region}.json`);
      writeFileSync(
        probesFile,
        JSON.stringify({
          probes: [
            {
              id: `${region}-read`,
              zone,
              subject_claims: { sub: `canary-${region}` },
              resource: 'resource://api',
              scopes: ['read'],
              method: 'GET',
              path: '/api/orders/canary',
              expected_decision: 'allow',
            },
          ],
        }),
      );
      services.push(
        await startCanary({
          region,
          zone,
          gatewayUrl: gateway.httpUrl,
          upstream: upstreamUrl,
          stsTokenUrl: `${replicas[0]!.httpUrl}/oauth/2/token`,
          subjectKeyFile: join(dir, 'subject-issuer.pem'),
          probesFile,
          aggregatorAddress: verifier.grpcAddress,
          intervalMs: 500,
        }),
      );
    }
  });

  after(async () => {
    activation?.close();
    deployments?.close();
    for (const service of services.reverse()) await service.process.stop();
    upstream?.close();
    await Promise.allSettled([
      ...databases.map((d) => d.drop()),
      audit?.delete(),
      decisionLogs?.delete(),
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  const stages = (bakeSeconds: number) => [
    {
      name: 'canary-eu',
      zones: [zones.eu],
      regions: ['eu'],
      bakeSeconds,
      gates: { minProbeRoundsPerRegion: 2, bakeSeconds, timeoutSeconds: 40 },
    },
    {
      name: 'prod-us',
      zones: [zones.us],
      regions: ['us'],
      bakeSeconds,
      gates: { minProbeRoundsPerRegion: 2, bakeSeconds, timeoutSeconds: 40 },
    },
  ];

  /** Follows a deployment until it ends; returns its final record. */
  const ended = (deploymentId: string) =>
    waitFor(
      async () => {
        const { deployment } = await deployments.getDeployment({ deploymentId });
        const open = [
          DeploymentState.PREFLIGHT,
          DeploymentState.RUNNING,
          DeploymentState.ROLLING_BACK,
        ];
        return deployment && !open.includes(deployment.state) ? deployment : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 500, description: `deployment ${deploymentId} to end` },
    );

  const rows = (deployment: Deployment, stage: number) =>
    Object.fromEntries(
      (deployment.stages[stage]?.verdict?.rows ?? []).map((row) => [row.check, row.state]),
    );

  it('deploys a good change stage by stage, verified row by row, and it becomes the known good version', async () => {
    const { deployment: started } = await deployments.deploy({
      policySetVersionId: versions.eu.v2.versionId,
      zoneVersions: [{ zoneId: zones.us, policySetVersionId: versions.us.v2.versionId }],
      stages: stages(2),
      options: { idempotencyKey: `${zones.eu}-good`, actor: 'system-e2e', reason: 'good change' },
    });
    const deployment = await ended(started!.deploymentId);
    assert.equal(
      deployment.state,
      DeploymentState.SUCCEEDED,
      `ended ${DeploymentState[deployment.state]}: ${deployment.failureReason}`,
    );
    assert.ok(deployment.preflight.length > 0 && deployment.preflight.every((c) => c.passed));
    for (const [index, region] of (['eu', 'us'] as const).entries()) {
      const stage = deployment.stages[index]!;
      assert.equal(stage.state, StageState.PASSED);
      assert.equal(stage.verdict?.state, VerdictState.PASS);
      // Every row of the checklist passed, with its evidence.
      assert.deepEqual(rows(deployment, index), {
        activation_accepted: VerdictState.PASS,
        replicas_converged: VerdictState.PASS,
        policy_age: VerdictState.PASS,
        canary_audit: VerdictState.PASS,
        gateway_behaviour: VerdictState.PASS,
      });
      assert.ok(stage.verdict.rows.every((row) => row.evidence.length > 0));
      assert.deepEqual(
        stage.zones.map((z) => [z.zoneId, z.state, z.policySetVersionId, z.servingReplicas]),
        [[zones[region], ZoneState.PASSED, versions[region].v2.versionId, 2]],
      );
    }
  });

  it('fails a bad change in stage 1, rolls it back to the known good version, and never touches stage 2', async () => {
    const { deployment: started } = await deployments.deploy({
      policySetVersionId: versions.eu.bad.versionId,
      zoneVersions: [{ zoneId: zones.us, policySetVersionId: versions.us.bad.versionId }],
      stages: stages(2),
      options: { idempotencyKey: `${zones.eu}-bad`, actor: 'system-e2e', reason: 'bad change' },
    });
    const deployment = await ended(started!.deploymentId);
    assert.equal(
      deployment.state,
      DeploymentState.ROLLED_BACK,
      `ended ${DeploymentState[deployment.state]}: ${deployment.failureReason}`,
    );
    const [first, second] = deployment.stages;
    assert.equal(first?.state, StageState.FAILED);
    assert.equal(first?.verdict?.state, VerdictState.FAIL);
    // The failing evidence: the Gateway denied what the canary expected to pass.
    const stageRows = rows(deployment, 0);
    assert.equal(stageRows['activation_accepted'], VerdictState.PASS);
    assert.equal(stageRows['replicas_converged'], VerdictState.PASS);
    assert.equal(stageRows['gateway_behaviour'], VerdictState.FAIL);
    const behaviour = first.verdict.rows.find((row) => row.check === 'gateway_behaviour')!;
    assert.match(behaviour.evidence, /deny|mismatch/i);
    assert.deepEqual(
      first.zones.map((z) => [z.zoneId, z.state, z.rolledBackToPolicySetVersionId]),
      [[zones.eu, ZoneState.ROLLED_BACK, versions.eu.v2.versionId]],
    );
    assert.equal(second?.state, StageState.SKIPPED);

    // Zone A serves the last known good version again; zone B never saw the bad one.
    const eu = await activation.getActiveBinding({ zoneId: zones.eu });
    assert.equal(eu.binding?.policySetVersionId, versions.eu.v2.versionId);
    const us = await activation.listActivations({ zoneId: zones.us, pageSize: 20 });
    assert.ok(
      us.activations.every((a) => a.activation?.policySetVersionId !== versions.us.bad.versionId),
      'stage 2 was never activated',
    );
    const usBinding = await activation.getActiveBinding({ zoneId: zones.us });
    assert.equal(usBinding.binding?.policySetVersionId, versions.us.v2.versionId);
  });
});
