import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { workspaceRoot } from '@caracal-deploy/config';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import {
  createTestDatabase,
  freePort,
  infraSettings,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
} from '@caracal-deploy/testing';

const run = promisify(execFile);
const root = workspaceRoot(import.meta.url);
const appMain = (app: string, file = 'main.js') => join(root, 'apps', app, 'dist', file);
const freeAddress = async () => `127.0.0.1:${await freePort()}`;

function grpcServing(address: string): () => Promise<boolean> {
  return async () => {
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 1_000 });
    try {
      const response = await health.check({ components: [] });
      return response.status === ServingStatus.SERVING;
    } finally {
      health.close();
    }
  };
}

/** The real Admin API with the real policy-validator and activation coordinator, on a fresh database. */
export interface AdminStack {
  readonly url: string;
  readonly adminToken: string;
  /** Everything the services wrote, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Boots policy-validator, activation-coordinator and admin-api on ephemeral ports. */
export async function startAdminStack(): Promise<AdminStack> {
  const settings = infraSettings();
  const keyDir = mkdtempSync(join(tmpdir(), 'caracal-cli-e2e-'));
  const processes: ServiceProcess[] = [];
  let database: TestDatabase | undefined;
  const stop = async () => {
    for (const service of processes.reverse()) await service.stop();
    await database?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  };
  try {
    database = await createTestDatabase(settings);
    const validatorAddress = await freeAddress();
    processes.push(
      await startServiceProcess({
        name: 'policy-validator',
        main: appMain('policy-validator'),
        env: {
          CARACAL_VALIDATOR_GRPC_ADDRESS: validatorAddress,
          CARACAL_VALIDATOR_METRICS_PORT: '0',
          CARACAL_OPA_BIN: settings.opaBin,
          CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
          CARACAL_BUNDLE_SIGNING_KEY_FILE: join(keyDir, 'bundle-signing.pem'),
          CARACAL_BUNDLE_SIGNING_KEY_ID: 'cli-e2e',
        },
        ready: grpcServing(validatorAddress),
      }),
    );
    const coordinatorAddress = await freeAddress();
    processes.push(
      await startServiceProcess({
        name: 'activation-coordinator',
        main: appMain('activation-coordinator'),
        env: {
          CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
          CARACAL_COORDINATOR_METRICS_PORT: '0',
          CARACAL_POSTGRES_URL: database.url,
          CARACAL_REDIS_URL: settings.redisUrl,
        },
        ready: grpcServing(coordinatorAddress),
      }),
    );
    const adminGrpc = await freeAddress();
    const httpPort = await freePort();
    processes.push(
      await startServiceProcess({
        name: 'admin-api',
        main: appMain('admin-api'),
        env: {
          CARACAL_ADMIN_HTTP_PORT: String(httpPort),
          CARACAL_ADMIN_GRPC_ADDRESS: adminGrpc,
          CARACAL_ADMIN_METRICS_PORT: '0',
          CARACAL_POSTGRES_URL: database.url,
          CARACAL_VALIDATOR_ADDRESS: validatorAddress,
          CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
          CARACAL_ROLLBACK_GRPC_ADDRESS: await freeAddress(),
        },
        ready: grpcServing(adminGrpc),
      }),
    );
    const { stdout } = await run(
      process.execPath,
      [appMain('admin-api', 'cli.js'), 'create-token', '--role', 'admin', '--name', 'cli-e2e'],
      { env: { ...process.env, CARACAL_POSTGRES_URL: database.url } },
    );
    const adminToken = stdout.trim().split('\n')[0] ?? '';
    if (!adminToken) throw new Error('the admin CLI printed no token');
    return {
      url: `http://127.0.0.1:${httpPort}`,
      adminToken,
      output: () => processes.map((p) => `--- ${p.name}\n${p.output().slice(-4_000)}`).join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The shared STS policy-input fixture, moved into `zone`. */
export async function stsInput(zone: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  const path = join(
    root,
    '..',
    'shared',
    'contracts',
    'caracal',
    'fixtures',
    'policy-input.sts.valid.json',
  );
  const input = JSON.parse(await readFile(path, 'utf8')) as { principal: { zone_id: string } };
  input.principal.zone_id = zone;
  return input;
}

/** A valid policy: allows reading `resource://api` with scope `read`, denies the rest. */
export function baselineRego(policy: string): string {
  const result = (decision: string, condition: string) => `result := {
	"decision": "${decision}",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "${policy}"}],
	"diagnostics": [],
} if ${condition}
`;
  return `package caracal.authz

import rego.v1

default allow := false

allow if {
	input.resource.identifier == "resource://api"
	"read" in input.context.requested_scopes
}

${result('allow', 'allow')}
${result('deny', 'not allow')}`;
}
