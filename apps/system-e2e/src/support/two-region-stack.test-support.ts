import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ActivationService,
  ActivationTrigger,
  DeploymentService,
  RollbackService,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createAdminToken,
  createTestDatabase,
  createTestTopic,
  freeAddress,
  startControlPlane,
  startRollbackController,
  uniqueName,
  waitFor,
  type InfraSettings,
  type RunningService,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';

import {
  policyInput,
  pushPolicySetVersion,
  putExpectedCases,
  type PushedVersion,
} from './policies.test-support.js';
import {
  adminCall,
  startAggregator,
  startCanary,
  startGateway,
  startSts,
} from './services.test-support.js';

/** Reads are allowed (the canaries' expectation); `marker` makes each version's content distinct. */
export const allowReads = (marker: string) => `package caracal.authz

# ${marker}
default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [{"id": "reads"}], "diagnostics": []} if {
	"read" in input.context.requested_scopes
}
`;

/** The bad change: reads are denied too. */
export const denyEverything = `package caracal.authz

result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "lockdown"}], "diagnostics": []}
`;

const slug = (prefix: string) =>
  uniqueName(prefix)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');

/** The regions of the stack; zone `zones[region]` is served only there. */
export type Region = 'eu' | 'us';

/** A running two-region stack and the clients to drive it. */
export interface TwoRegionStack {
  readonly zones: Readonly<Record<Region, string>>;
  /** Per region: v1 (active at start), v2 (a good change) and bad (denies reads). */
  readonly versions: Readonly<Record<Region, Record<'v1' | 'v2' | 'bad', PushedVersion>>>;
  readonly activation: GrpcClient<typeof ActivationService>;
  readonly deployments: GrpcClient<typeof DeploymentService>;
  readonly rollbacks: GrpcClient<typeof RollbackService>;
  /** The Admin API's base URL and an admin token, for the CLI and HTTP callers. */
  readonly admin: { readonly url: string; readonly token: string };
  /** Pushes another version of `region`'s zone through the Admin API. */
  push(region: Region, source: string): Promise<PushedVersion>;
  /** Stops every process and removes what the stack created. */
  stop(): Promise<void>;
}

/**
 * Starts the whole system on the real infrastructure, two regions: the control
 * plane (policy-validator, admin-api, activation-coordinator,
 * verification-aggregator, rollback-controller) and per region two STS
 * replicas serving that region's zone, a Gateway in front of an upstream and a
 * canary agent probing a read through it every `canaryIntervalMs`. Each zone's
 * policy set declares one expected case (writes are denied) and has three
 * versions pushed through the Admin API; v1 is active in both zones.
 */
export async function startTwoRegionStack(
  settings: InfraSettings,
  options: { readonly canaryIntervalMs: number },
): Promise<TwoRegionStack> {
  const zones = { eu: slug('stage_eu'), us: slug('stage_us') };
  const dir = mkdtempSync(join(tmpdir(), 'caracal-two-regions-'));
  const services: RunningService[] = [];
  const databases: TestDatabase[] = [];
  const topics: TestTopic[] = [];
  let upstream: Server | undefined;
  const clients: { close(): void }[] = [];
  const versions: Record<Region, Record<'v1' | 'v2' | 'bad', PushedVersion>> = {
    eu: {} as never,
    us: {} as never,
  };
  let activation!: GrpcClient<typeof ActivationService>;
  let deployments!: GrpcClient<typeof DeploymentService>;
  let rollbacks!: GrpcClient<typeof RollbackService>;
  let push!: TwoRegionStack['push'];
  let adminAccess!: TwoRegionStack['admin'];
  const stop = async () => {
    for (const client of clients) client.close();
    for (const service of services.reverse()) await service.process.stop();
    upstream?.close();
    await Promise.allSettled([...databases.map((d) => d.drop()), ...topics.map((t) => t.delete())]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const component of ['postgres', 'redis', 'kafka', 'opa'] as const) {
      await assertReachable(component, settings);
    }
    const [registry, rollbackDb, verifierDb] = await Promise.all([
      createTestDatabase(settings),
      createTestDatabase(settings),
      createTestDatabase(settings),
    ]);
    databases.push(registry, rollbackDb, verifierDb);
    const audit = await createTestTopic(settings.kafkaBrokers);
    const decisionLogs = await createTestTopic(settings.kafkaBrokers);
    topics.push(audit, decisionLogs);
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200).end('upstream'));
    });
    upstream = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    // The coordinator, the aggregator and the rollback-controller call each other: fix their addresses first.
    const addresses = {
      coordinator: await freeAddress(),
      verifier: await freeAddress(),
    };
    const controller = await startRollbackController({
      databaseUrl: rollbackDb.url,
      coordinatorAddress: addresses.coordinator,
      webhookUrl: `http://127.0.0.1:${(await freeAddress()).split(':')[1]}/v1/webhooks/alertmanager`,
      readyWhenAnswering: true,
    });
    services.push(controller);
    const { coordinator, admin } = await startControlPlane(
      settings,
      {
        databaseUrl: registry.url,
        keyDir: dir,
        keyId: 'system-e2e',
        coordinator: {
          grpcAddress: addresses.coordinator,
          env: {
            CARACAL_VERIFIER_GRPC_ADDRESS: addresses.verifier,
            CARACAL_ROLLBACK_GRPC_ADDRESS: controller.grpcAddress,
          },
        },
      },
      services,
    );
    const verifier = await startAggregator(settings, {
      databaseUrl: verifierDb.url,
      coordinatorAddress: coordinator.grpcAddress,
      auditTopic: audit.topic,
      grpcAddress: addresses.verifier,
    });
    services.push(verifier);
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
    rollbacks = createGrpcClient(RollbackService, controller.grpcAddress, {
      defaultTimeoutMs: 10_000,
    });
    clients.push(activation, deployments, rollbacks);
    push = (region, source) => pushPolicySetVersion(admin.httpUrl, author, zones[region], source);
    adminAccess = { url: admin.httpUrl, token: author };

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
          intervalMs: options.canaryIntervalMs,
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    zones,
    versions,
    activation,
    deployments,
    rollbacks,
    admin: adminAccess,
    push,
    stop,
  };
}
