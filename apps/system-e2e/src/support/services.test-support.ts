import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { workspaceRoot } from '@caracal-deploy/config';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import {
  freePort,
  startServiceProcess,
  type InfraSettings,
  type ServiceProcess,
} from '@caracal-deploy/testing';

const run = promisify(execFile);
const root = workspaceRoot(import.meta.url);

/** The compiled entry point of an app. */
export const appMain = (app: string, file = 'main.js') => join(root, 'apps', app, 'dist', file);

/** A loopback `host:port` nobody listens on right now. */
export const freeAddress = async () => `127.0.0.1:${await freePort()}`;

/** Resolves true once the gRPC HealthService at `address` answers SERVING. */
export function grpcServing(address: string): () => Promise<boolean> {
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

/**
 * Resolves true once the gRPC HealthService at `address` answers at all: for an
 * STS replica that has no bundle yet (NOT_SERVING until its zone is activated).
 */
export function grpcAnswers(address: string): () => Promise<boolean> {
  return async () => {
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 1_000 });
    try {
      await health.check({ components: [] });
      return true;
    } finally {
      health.close();
    }
  };
}

/** A service process plus the addresses the test talks to. */
export interface RunningService {
  readonly process: ServiceProcess;
  readonly grpcAddress: string;
  readonly httpUrl?: string;
  readonly metricsPort?: number;
}

/** Boots the policy-validator with its own signing key under `keyDir`. */
export async function startValidator(
  settings: InfraSettings,
  keyDir: string,
): Promise<RunningService> {
  const grpcAddress = await freeAddress();
  const process = await startServiceProcess({
    name: 'policy-validator',
    main: appMain('policy-validator'),
    env: {
      CARACAL_VALIDATOR_GRPC_ADDRESS: grpcAddress,
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_OPA_BIN: settings.opaBin,
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_BUNDLE_SIGNING_KEY_FILE: join(keyDir, 'bundle-signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'system-e2e',
    },
    ready: grpcServing(grpcAddress),
  });
  return { process, grpcAddress };
}

/** Boots the Admin API on `databaseUrl` (migrating it) in front of the validator. */
export async function startAdminApi(options: {
  readonly databaseUrl: string;
  readonly validatorAddress: string;
  readonly coordinatorAddress: string;
}): Promise<RunningService & { readonly httpUrl: string }> {
  const grpcAddress = await freeAddress();
  const httpPort = await freePort();
  const process = await startServiceProcess({
    name: 'admin-api',
    main: appMain('admin-api'),
    env: {
      CARACAL_ADMIN_HTTP_PORT: String(httpPort),
      CARACAL_ADMIN_GRPC_ADDRESS: grpcAddress,
      CARACAL_ADMIN_METRICS_PORT: '0',
      CARACAL_POSTGRES_URL: options.databaseUrl,
      CARACAL_VALIDATOR_ADDRESS: options.validatorAddress,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
    },
    ready: grpcServing(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `http://127.0.0.1:${httpPort}` };
}

/** Creates an Admin API token with `role` through the admin CLI; returns the secret. */
export async function createAdminToken(
  databaseUrl: string,
  role: 'admin' | 'author' | 'viewer',
  name: string,
): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [appMain('admin-api', 'cli.js'), 'create-token', '--role', role, '--name', name],
    { env: { ...process.env, CARACAL_POSTGRES_URL: databaseUrl } },
  );
  const token = stdout.trim().split('\n')[0] ?? '';
  if (!token) throw new Error(`admin CLI printed no token for ${name}`);
  return token;
}

/** A JSON call on the Admin API that must succeed; returns the parsed body. */
export async function adminCall<T = Record<string, unknown>>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Boots the activation coordinator on the registry's database. */
export async function startCoordinator(
  settings: InfraSettings,
  databaseUrl: string,
  peers: { readonly verifierAddress?: string; readonly rollbackAddress?: string } = {},
  grpcAddress?: string,
): Promise<RunningService> {
  const address = grpcAddress ?? (await freeAddress());
  const process = await startServiceProcess({
    name: 'activation-coordinator',
    main: appMain('activation-coordinator'),
    env: {
      CARACAL_COORDINATOR_GRPC_ADDRESS: address,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
      CARACAL_POSTGRES_URL: databaseUrl,
      CARACAL_REDIS_URL: settings.redisUrl,
      ...(peers.verifierAddress ? { CARACAL_VERIFIER_GRPC_ADDRESS: peers.verifierAddress } : {}),
      ...(peers.rollbackAddress ? { CARACAL_ROLLBACK_GRPC_ADDRESS: peers.rollbackAddress } : {}),
    },
    ready: grpcServing(address),
  });
  return { process, grpcAddress: address };
}

/** What one STS replica serves and where it reads and writes. */
export interface StsReplicaOptions {
  readonly replicaId: string;
  readonly region: string;
  readonly zones: readonly string[];
  /** Holds the validator's bundle signing key (`bundle-signing.pem`) and this replica's keys. */
  readonly keyDir: string;
  readonly metricsPort: number;
  readonly adminApiUrl: string;
  readonly adminApiToken: string;
  readonly coordinatorAddress: string;
  readonly auditTopic: string;
  readonly decisionLogTopic: string;
  /** Periodic binding check; defaults to 1 s. */
  readonly policyCheckIntervalMs?: number;
}

/** Boots one STS replica; resolves once it serves over gRPC. */
export async function startSts(
  settings: InfraSettings,
  options: StsReplicaOptions,
): Promise<RunningService & { readonly httpUrl: string; readonly metricsPort: number }> {
  const grpcAddress = await freeAddress();
  const httpPort = await freePort();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const process = await startServiceProcess({
    name: `sts ${options.replicaId}`,
    main: appMain('sts'),
    env: {
      CARACAL_STS_REPLICA_ID: options.replicaId,
      CARACAL_STS_REGION: options.region,
      CARACAL_STS_ZONES: options.zones.join(','),
      CARACAL_STS_ISSUER: httpUrl,
      CARACAL_STS_HTTP_PORT: String(httpPort),
      CARACAL_STS_GRPC_ADDRESS: grpcAddress,
      CARACAL_STS_METRICS_PORT: String(options.metricsPort),
      CARACAL_STS_SIGNING_KEY_FILE: join(options.keyDir, `${options.replicaId}-signing.pem`),
      CARACAL_STS_SIGNING_KEY_ID: `sts-${options.replicaId}`,
      CARACAL_STS_SUBJECT_KEY_FILE: join(options.keyDir, 'subject-issuer.pem'),
      CARACAL_BUNDLE_PUBLIC_KEY_FILE: join(options.keyDir, 'bundle-signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'system-e2e',
      CARACAL_ADMIN_API_URL: options.adminApiUrl,
      CARACAL_STS_ADMIN_API_TOKEN: options.adminApiToken,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_STS_POLICY_CHECK_INTERVAL_MS: String(options.policyCheckIntervalMs ?? 1_000),
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: options.auditTopic,
      CARACAL_DECISION_LOG_TOPIC: options.decisionLogTopic,
    },
    // Before its zone's first activation a replica answers NOT_SERVING (it denies everything).
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, httpUrl, metricsPort: options.metricsPort };
}

/** Boots the rollback-controller with its webhook receiver where `webhookUrl` points. */
export async function startRollbackController(
  settings: InfraSettings,
  options: {
    readonly databaseUrl: string;
    readonly coordinatorAddress: string;
    readonly webhookUrl: string;
  },
): Promise<RunningService> {
  const grpcAddress = await freeAddress();
  const webhook = new URL(options.webhookUrl);
  const process = await startServiceProcess({
    name: 'rollback-controller',
    main: appMain('rollback-controller'),
    env: {
      CARACAL_ROLLBACK_HTTP_HOST: webhook.hostname,
      CARACAL_ROLLBACK_HTTP_PORT: webhook.port,
      CARACAL_ROLLBACK_GRPC_ADDRESS: grpcAddress,
      CARACAL_ROLLBACK_METRICS_PORT: '0',
      CARACAL_ROLLBACK_POSTGRES_URL: options.databaseUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
      CARACAL_REDIS_URL: settings.redisUrl,
    },
    // Its health includes the coordinator, which may start after it (they call each other).
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `${webhook.protocol}//${webhook.host}` };
}

/** Boots the verification-aggregator on its own database, following `auditTopic`. */
export async function startAggregator(
  settings: InfraSettings,
  options: {
    readonly databaseUrl: string;
    readonly coordinatorAddress: string;
    readonly auditTopic: string;
    readonly grpcAddress?: string;
  },
): Promise<RunningService> {
  const grpcAddress = options.grpcAddress ?? (await freeAddress());
  const process = await startServiceProcess({
    name: 'verification-aggregator',
    main: appMain('verification-aggregator'),
    env: {
      CARACAL_VERIFIER_GRPC_ADDRESS: grpcAddress,
      CARACAL_VERIFIER_METRICS_PORT: '0',
      CARACAL_VERIFIER_POSTGRES_URL: options.databaseUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: options.auditTopic,
      CARACAL_VERIFIER_EVALUATE_INTERVAL_MS: '250',
    },
    ready: grpcServing(grpcAddress),
  });
  return { process, grpcAddress };
}

/** One Gateway route document (libs/gateway-routes): `/api` → `upstream` as resource://api. */
export const apiRoutes = (upstream: string) =>
  JSON.stringify([
    {
      prefix: '/api',
      upstream,
      resource: { identifier: 'resource://api' },
      operations: { GET: 'read', POST: 'write' },
    },
  ]);

/** Boots a region's Gateway in front of `upstream`, deciding with the region's STS replicas. */
export async function startGateway(options: {
  readonly region: string;
  readonly upstream: string;
  readonly sts: readonly { readonly grpcAddress: string; readonly httpUrl: string }[];
  readonly issuer: string;
}): Promise<RunningService & { readonly httpUrl: string }> {
  const grpcAddress = await freeAddress();
  const httpPort = await freePort();
  const process = await startServiceProcess({
    name: `gateway ${options.region}`,
    main: appMain('gateway'),
    env: {
      CARACAL_GATEWAY_REGION: options.region,
      CARACAL_GATEWAY_HTTP_PORT: String(httpPort),
      CARACAL_GATEWAY_GRPC_ADDRESS: grpcAddress,
      CARACAL_GATEWAY_METRICS_PORT: '0',
      CARACAL_GATEWAY_ROUTES: apiRoutes(options.upstream),
      CARACAL_GATEWAY_STS_ADDRESSES: options.sts.map((s) => s.grpcAddress).join(','),
      CARACAL_GATEWAY_STS_JWKS_URLS: options.sts
        .map((s) => `${s.httpUrl}/.well-known/jwks.json`)
        .join(','),
      CARACAL_GATEWAY_TOKEN_ISSUER: options.issuer,
    },
    // Answers before its zone has a bundle (the STS it asks is then NOT_SERVING).
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `http://127.0.0.1:${httpPort}` };
}

/** Boots a region's canary agent: `probesFile` through the Gateway, reports to the aggregator. */
export async function startCanary(options: {
  readonly region: string;
  readonly zone: string;
  readonly gatewayUrl: string;
  readonly upstream: string;
  readonly stsTokenUrl: string;
  readonly subjectKeyFile: string;
  readonly probesFile: string;
  readonly aggregatorAddress: string;
  readonly intervalMs: number;
}): Promise<RunningService & { readonly metricsPort: number }> {
  const grpcAddress = await freeAddress();
  const metricsPort = await freePort();
  const process = await startServiceProcess({
    name: `canary ${options.region}`,
    main: appMain('canary-agent'),
    env: {
      CARACAL_CANARY_REGION: options.region,
      CARACAL_CANARY_AGENT_ID: `canary-${options.region}`,
      CARACAL_CANARY_GATEWAY_URL: options.gatewayUrl,
      CARACAL_CANARY_STS_TOKEN_URL: options.stsTokenUrl,
      CARACAL_CANARY_SUBJECT_KEY_FILE: options.subjectKeyFile,
      CARACAL_CANARY_ROUTES: apiRoutes(options.upstream),
      CARACAL_CANARY_PROBES_FILE: options.probesFile,
      CARACAL_CANARY_ZONE: options.zone,
      CARACAL_CANARY_AGGREGATOR_ADDRESS: options.aggregatorAddress,
      CARACAL_CANARY_INTERVAL_MS: String(options.intervalMs),
      CARACAL_CANARY_METRICS_PORT: String(metricsPort),
      CARACAL_CANARY_GRPC_ADDRESS: grpcAddress,
    },
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, metricsPort };
}
