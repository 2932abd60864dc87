import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { workspaceRoot } from '@caracal-deploy/config';
import {
  Decision,
  HealthService,
  ServingStatus,
  SimulationService,
  StsService,
  ValidationService,
  type SignedBundle,
} from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { FakeAdminApi, FakeCoordinator } from '@caracal-deploy/stand-ins';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestTopic,
} from '@caracal-deploy/testing';
import fc from 'fast-check';

import { AppModule } from '../app.module.js';
import { loadValidatorConfig } from '../config/validator.config.js';

const settings = infraSettings();
const appRoot = new URL('../../', import.meta.url);
const stsMain = join(workspaceRoot(import.meta.url), 'apps/sts/dist/main.js');
const adminToken = 'fidelity-viewer-token';
const apps = ['app-1', 'app-2', 'app-3'];
const resources = [
  { identifier: 'resource://api', id: 'res-api', scopes: ['read', 'write'] },
  { identifier: 'resource://files', id: 'res-files', scopes: ['read', 'write', 'admin'] },
];
const data = {
  caracal: {
    zone_id: 'zone-1',
    grants: {
      'app-1': [{ resource: 'resource://api', scopes: ['read', 'write'] }],
      'app-2': [
        { resource: 'resource://api', scopes: ['read'] },
        { resource: 'resource://files', scopes: ['read', 'admin'] },
      ],
    },
    limits: { max_delegation_depth: 2 },
    step_up_scopes: ['write', 'admin'],
  },
};

/** Policy inputs spanning zones, grants, unknown principals, delegation and step-up. */
const inputs = fc
  .record({
    app: fc.constantFrom(...apps),
    zone: fc.oneof(
      { weight: 4, arbitrary: fc.constant('zone-1') },
      { weight: 1, arbitrary: fc.constant('zone-2') },
    ),
    lifecycle: fc.constantFrom('task', 'service'),
    resource: fc.constantFrom(...resources),
    // Weighted towards grantable requests so both outcomes are common.
    scopes: fc.oneof(
      { weight: 3, arbitrary: fc.constant(['read']) },
      { weight: 2, arbitrary: fc.constant(['read', 'write']) },
      { weight: 2, arbitrary: fc.subarray(['read', 'write', 'admin', 'delete']) },
    ),
    challengeResolved: fc.boolean(),
    delegation: fc.option(
      fc.record({
        receiverIsPrincipal: fc.boolean(),
        sameResource: fc.boolean(),
        scopes: fc.subarray(['read', 'write', 'admin']),
        depth: fc.integer({ min: 1, max: 3 }),
      }),
      { nil: null, freq: 2 },
    ),
  })
  .map((c) => ({
    schema_version: '2026-05-20',
    principal: { type: 'Application', id: c.app, zone_id: c.zone, lifecycle: c.lifecycle },
    resource: {
      type: 'http',
      id: c.resource.id,
      identifier: c.resource.identifier,
      scopes: c.resource.scopes,
    },
    action: { id: c.scopes[0] ?? 'read' },
    delegation_edge: c.delegation && {
      id: 'delegation-1',
      receiver_application_id: c.delegation.receiverIsPrincipal ? c.app : 'app-other',
      resource_id: c.delegation.sameResource ? c.resource.id : 'res-elsewhere',
      scopes: c.delegation.scopes,
      path: Array.from({ length: c.delegation.depth }, (_, i) => `delegation-${i}`),
    },
    context: {
      actor_claims: { caracal_client_id: c.app },
      challenge_resolved: c.challengeResolved,
      requested_scopes: c.scopes,
    },
  }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Invariant 1, as a property: for any input, the simulation engine (opa-wasm on
 * the signed bundle, through the gRPC SimulationService), stock OPA serving the
 * very same bundle file, and a real STS process that fetched, verified and
 * loaded that bundle as the zone's active one (gRPC `StsService.Decide`) return
 * identical results.
 */
describe('simulation fidelity: SimulationService vs stock OPA vs the STS on the same bundle', () => {
  let dir: string;
  let app: INestApplicationContext;
  let validation: GrpcClient<typeof ValidationService>;
  let simulation: GrpcClient<typeof SimulationService>;
  let opa: ChildProcess;
  let opaUrl: string;
  let candidate: SignedBundle;
  // The STS fetches the bundle and the catalog from the Admin API and learns the
  // zone's active bundle from the coordinator: both service boundaries stood in for.
  const adminApi = new FakeAdminApi(adminToken);
  const coordinator = new FakeCoordinator();
  let topics: TestTopic[] = [];
  let sts: ServiceProcess | undefined;
  let decide: GrpcClient<typeof StsService>;

  before(async () => {
    await assertReachable('opa', settings);
    await assertReachable('redis', settings);
    await assertReachable('kafka', settings);
    dir = await mkdtemp(join(tmpdir(), 'caracal-fidelity-'));
    const config = loadValidatorConfig({
      CARACAL_VALIDATOR_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_OPA_BIN: settings.opaBin,
      CARACAL_BUNDLE_SIGNING_KEY_FILE: join(dir, 'signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'fidelity',
    });
    app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false });
    const address = `127.0.0.1:${app.get(GrpcServerHost).port}`;
    validation = createGrpcClient(ValidationService, address);
    simulation = createGrpcClient(SimulationService, address);

    const revision = 'f'.repeat(64);
    const built = await validation.buildBundle({
      revision,
      source: {
        zoneId: 'zone-1',
        modules: [
          {
            path: 'policies/authz.rego',
            source: await readFile(new URL('fixtures/realistic/authz.rego', appRoot), 'utf8'),
          },
        ],
        data: [{ path: 'data.json', json: new TextEncoder().encode(JSON.stringify(data)) }],
        catalog: resources.map((r) => ({ ...r, operations: [] })),
      },
    });
    assert.equal(built.validation?.valid, true, JSON.stringify(built.validation?.findings));
    candidate = {
      $typeName: 'caracal.deploy.v1.SignedBundle',
      bundle: built.bundle,
      bundleSha256: built.bundleSha256,
      revision,
    };

    // Stock OPA loads the same bytes from disk and checks their signature itself.
    const bundlePath = join(dir, 'bundle.tar.gz');
    const publicKeyPath = join(dir, 'signing.pub.pem');
    await writeFile(bundlePath, built.bundle);
    await writeFile(
      publicKeyPath,
      createPublicKey(await readFile(join(dir, 'signing.pem'))).export({
        type: 'spki',
        format: 'pem',
      }),
    );
    const port = await freePort();
    opaUrl = `http://127.0.0.1:${port}`;
    let opaOutput = '';
    opa = spawn(
      settings.opaBin,
      [
        'run',
        '--server',
        '--skip-version-check',
        '--addr',
        `127.0.0.1:${port}`,
        '--verification-key',
        publicKeyPath,
        '--verification-key-id',
        'fidelity',
        '--signing-alg',
        'ES256',
        '--bundle',
        bundlePath,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    opa.stderr?.on('data', (chunk: Buffer) => (opaOutput += chunk.toString()));
    opa.stdout?.on('data', (chunk: Buffer) => (opaOutput += chunk.toString()));
    await waitFor(
      async () => {
        if (opa.exitCode !== null) throw new Error(`opa exited: ${opaOutput.slice(-500)}`);
        return (await fetch(`${opaUrl}/health?bundles`)).ok ? true : undefined;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        description: 'opa run --server to load and verify the bundle',
      },
    );

    // The STS: the same bytes, served as zone-1's active bundle, verified with the same key.
    adminApi.bundles.set(built.bundleSha256, built.bundle);
    adminApi.catalogs.set(
      'zone-1',
      resources.map((r) => ({ ...r, type: 'http', operations: [] })),
    );
    coordinator.bindings.set('zone-1', {
      revision,
      bundleSha256: built.bundleSha256,
      activationId: 'fidelity-activation',
    });
    const adminUrl = await adminApi.listen();
    const coordinatorAddress = await coordinator.listen();
    topics = [
      await createTestTopic(settings.kafkaBrokers),
      await createTestTopic(settings.kafkaBrokers),
    ];
    const stsAddress = `127.0.0.1:${await freePort()}`;
    const stsHealth = createGrpcClient(HealthService, stsAddress, { defaultTimeoutMs: 2_000 });
    try {
      sts = await startServiceProcess({
        name: 'sts',
        main: stsMain,
        env: {
          CARACAL_STS_REPLICA_ID: `fidelity-${process.pid}`,
          CARACAL_STS_ZONES: 'zone-1',
          CARACAL_STS_HTTP_PORT: '0',
          CARACAL_STS_GRPC_ADDRESS: stsAddress,
          CARACAL_STS_METRICS_PORT: '0',
          CARACAL_STS_SIGNING_KEY_FILE: join(dir, 'sts-signing.pem'),
          CARACAL_STS_SUBJECT_KEY_FILE: join(dir, 'subject.pem'),
          CARACAL_BUNDLE_PUBLIC_KEY_FILE: join(dir, 'signing.pem'),
          CARACAL_BUNDLE_SIGNING_KEY_ID: 'fidelity',
          CARACAL_ADMIN_API_URL: adminUrl,
          CARACAL_STS_ADMIN_API_TOKEN: adminToken,
          CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
          CARACAL_REDIS_URL: settings.redisUrl,
          CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
          CARACAL_AUDIT_TOPIC: topics[0]?.topic ?? '',
          CARACAL_DECISION_LOG_TOPIC: topics[1]?.topic ?? '',
        },
        // SERVING once every zone it serves has a verified bundle loaded.
        ready: async () =>
          (await stsHealth.check({ components: [] }).catch(() => undefined))?.status ===
          ServingStatus.SERVING,
      });
    } finally {
      stsHealth.close();
    }
    decide = createGrpcClient(StsService, stsAddress);
  });

  after(async () => {
    decide?.close();
    await sts?.stop();
    await adminApi.close();
    await coordinator.close();
    for (const topic of topics) await topic.delete();
    opa?.kill('SIGTERM');
    validation?.close();
    simulation?.close();
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives identical results on every generated input', async () => {
    let allows = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        run += 1;
        const simulated = await simulation.simulate({
          zoneId: 'zone-1',
          candidate,
          cases: [
            {
              name: 'generated',
              inputJson: new TextEncoder().encode(JSON.stringify(input)),
              expectedDecision: Decision.ALLOW,
            },
          ],
        });
        const ours = JSON.parse(
          new TextDecoder().decode(simulated.results[0]?.candidate?.resultJson),
        ) as unknown;
        const response = await fetch(`${opaUrl}/v1/data/caracal/authz/result`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input }),
        });
        const theirs = ((await response.json()) as { result?: unknown }).result ?? null;
        const decided = await decide.decide({
          zoneId: 'zone-1',
          requestId: `fidelity-${run}`,
          inputJson: JSON.stringify(input),
        });
        assert.equal(decided.revision, candidate.revision, 'the STS serves the same bundle');
        const live = JSON.parse(decided.resultJson || 'null') as unknown;
        if ((ours as { decision?: string } | null)?.decision === 'allow') allows += 1;
        return isDeepStrictEqual(ours, theirs) && isDeepStrictEqual(ours, live);
      }),
      { numRuns: 300, seed: 20261128 },
    );
    // The generator must reach both outcomes, or the property proves little.
    assert.ok(allows > 10 && allows < 290, `allows in 300 runs: ${allows}`);
  });
});
