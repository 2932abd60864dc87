import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { workspaceRoot } from '@caracal-deploy/config';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';

import type { InfraSettings } from './infra-settings.js';
import { freePort, startServiceProcess, type ServiceProcess } from './service-process.js';

const run = promisify(execFile);
const root = workspaceRoot(import.meta.url);

/** The compiled entry point of an app of this workspace (spawned, never imported). */
export const appMain = (app: string, file = 'main.js') => join(root, 'apps', app, 'dist', file);

/** A loopback `host:port` nobody listens on right now. */
export const freeAddress = async () => `127.0.0.1:${await freePort()}`;

/** Resolves true once the gRPC HealthService at `address` answers `status`. */
export function grpcHealthIs(
  address: string,
  status: ServingStatus = ServingStatus.SERVING,
): () => Promise<boolean> {
  return async () => {
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 1_000 });
    try {
      return (await health.check({ components: [] })).status === status;
    } finally {
      health.close();
    }
  };
}

/**
 * Resolves true once the gRPC HealthService at `address` answers at all: for a
 * service that is up but NOT_SERVING (an STS replica without a bundle yet).
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

/** A service process of this workspace and the gRPC address it serves on. */
export interface RunningService {
  readonly process: ServiceProcess;
  readonly grpcAddress: string;
}

/** Boots the real policy-validator; it creates its bundle signing key under `keyDir`. */
export async function startPolicyValidator(
  settings: InfraSettings,
  options: {
    readonly keyDir: string;
    readonly keyId: string;
    /** Added to (or overriding) the validator's environment. */
    readonly env?: Readonly<Record<string, string>>;
    /** The health status that means ready; SERVING unless the test breaks a dependency. */
    readonly readyStatus?: ServingStatus;
  },
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
      CARACAL_BUNDLE_SIGNING_KEY_FILE: join(options.keyDir, 'bundle-signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: options.keyId,
      ...options.env,
    },
    ready: grpcHealthIs(grpcAddress, options.readyStatus),
  });
  return { process, grpcAddress };
}

/** Boots the real activation coordinator on the registry's database. */
export async function startActivationCoordinator(
  settings: InfraSettings,
  options: {
    readonly databaseUrl: string;
    /** Where to serve; a free address by default (a restart passes the old one). */
    readonly grpcAddress?: string;
    /** Added to (or overriding) the coordinator's environment. */
    readonly env?: Readonly<Record<string, string>>;
  },
): Promise<RunningService> {
  const grpcAddress = options.grpcAddress ?? (await freeAddress());
  const process = await startServiceProcess({
    name: 'activation-coordinator',
    main: appMain('activation-coordinator'),
    env: {
      CARACAL_COORDINATOR_GRPC_ADDRESS: grpcAddress,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
      CARACAL_POSTGRES_URL: options.databaseUrl,
      CARACAL_REDIS_URL: settings.redisUrl,
      ...options.env,
    },
    ready: grpcHealthIs(grpcAddress),
  });
  return { process, grpcAddress };
}

/** Boots the real rollback-controller on its own database, in front of the coordinator. */
export async function startRollbackController(options: {
  readonly databaseUrl: string;
  readonly coordinatorAddress: string;
  /** Where its webhook receiver listens; a free loopback port by default. */
  readonly webhookUrl?: string;
  /**
   * Wait only for its health to answer: its health includes the coordinator,
   * which may start after it when the two call each other.
   */
  readonly readyWhenAnswering?: boolean;
}): Promise<RunningService & { readonly httpUrl: string }> {
  const grpcAddress = await freeAddress();
  const webhook = new URL(options.webhookUrl ?? `http://127.0.0.1:${await freePort()}`);
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
    },
    ready: options.readyWhenAnswering ? grpcAnswers(grpcAddress) : grpcHealthIs(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `${webhook.protocol}//${webhook.host}` };
}

/** Boots the real Admin API on `databaseUrl` (migrating it) in front of the validator and coordinator. */
async function startAdminApi(options: {
  readonly databaseUrl: string;
  readonly validatorAddress: string;
  readonly coordinatorAddress: string;
  /** Added to (or overriding) the Admin API's environment. */
  readonly env?: Readonly<Record<string, string>>;
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
      ...options.env,
    },
    ready: grpcHealthIs(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `http://127.0.0.1:${httpPort}` };
}

/** The control plane a user talks to, on one registry database. */
export interface ControlPlane {
  readonly validator: RunningService;
  readonly coordinator: RunningService;
  readonly admin: RunningService & { readonly httpUrl: string };
}

/**
 * Boots the policy-validator (signing bundles with a key it creates under
 * `keyDir`), the activation coordinator and the Admin API in front of both.
 * Each service is pushed onto `started` as soon as it runs, so the caller can
 * stop what did start when a later one fails.
 */
export async function startControlPlane(
  settings: InfraSettings,
  options: {
    readonly databaseUrl: string;
    readonly keyDir: string;
    readonly keyId: string;
    /** Where the coordinator serves and what else it is told (peers, timings). */
    readonly coordinator?: {
      readonly grpcAddress?: string;
      readonly env?: Readonly<Record<string, string>>;
    };
    /** Added to (or overriding) the Admin API's environment. */
    readonly adminEnv?: Readonly<Record<string, string>>;
  },
  started: RunningService[],
): Promise<ControlPlane> {
  const validator = await startPolicyValidator(settings, {
    keyDir: options.keyDir,
    keyId: options.keyId,
  });
  started.push(validator);
  const coordinator = await startActivationCoordinator(settings, {
    databaseUrl: options.databaseUrl,
    ...options.coordinator,
  });
  started.push(coordinator);
  const admin = await startAdminApi({
    databaseUrl: options.databaseUrl,
    validatorAddress: validator.grpcAddress,
    coordinatorAddress: coordinator.grpcAddress,
    ...(options.adminEnv === undefined ? {} : { env: options.adminEnv }),
  });
  started.push(admin);
  return { validator, coordinator, admin };
}

/** Creates an Admin API token with `role` through the admin CLI; returns the secret. */
export async function createAdminToken(
  databaseUrl: string,
  role: string,
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

/** Where an STS replica reads its policies and keys and writes its events. */
export interface StsEnvOptions {
  readonly replicaId: string;
  readonly region: string;
  readonly zones: readonly string[];
  /** `iss` of the access tokens it signs; the STS default when absent. */
  readonly issuer?: string;
  /** Ephemeral ports unless given. */
  readonly httpPort?: number;
  readonly grpcAddress?: string;
  readonly metricsPort?: number;
  readonly signingKeyFile: string;
  readonly signingKeyId?: string;
  /** The identity provider whose subject tokens it accepts; the STS default when absent. */
  readonly subjectIssuer?: string;
  readonly subjectKeyFile: string;
  readonly bundlePublicKeyFile: string;
  readonly bundleSigningKeyId: string;
  readonly adminApiUrl: string;
  readonly adminApiToken: string;
  readonly coordinatorAddress: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly auditTopic: string;
  readonly decisionLogTopic: string;
  /** How often it checks its zones' bindings without an invalidation message. */
  readonly policyCheckIntervalMs: number;
}

/** The environment (as the STS config reads it) of one STS replica. */
export function stsEnv(options: StsEnvOptions): Record<string, string> {
  return {
    CARACAL_STS_REPLICA_ID: options.replicaId,
    CARACAL_STS_REGION: options.region,
    CARACAL_STS_ZONES: options.zones.join(','),
    ...(options.issuer === undefined ? {} : { CARACAL_STS_ISSUER: options.issuer }),
    CARACAL_STS_HTTP_PORT: String(options.httpPort ?? 0),
    CARACAL_STS_GRPC_ADDRESS: options.grpcAddress ?? '127.0.0.1:0',
    CARACAL_STS_METRICS_PORT: String(options.metricsPort ?? 0),
    CARACAL_STS_SIGNING_KEY_FILE: options.signingKeyFile,
    ...(options.signingKeyId === undefined
      ? {}
      : { CARACAL_STS_SIGNING_KEY_ID: options.signingKeyId }),
    ...(options.subjectIssuer === undefined
      ? {}
      : { CARACAL_STS_SUBJECT_ISSUER: options.subjectIssuer }),
    CARACAL_STS_SUBJECT_KEY_FILE: options.subjectKeyFile,
    CARACAL_BUNDLE_PUBLIC_KEY_FILE: options.bundlePublicKeyFile,
    CARACAL_BUNDLE_SIGNING_KEY_ID: options.bundleSigningKeyId,
    CARACAL_ADMIN_API_URL: options.adminApiUrl,
    CARACAL_STS_ADMIN_API_TOKEN: options.adminApiToken,
    CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
    CARACAL_REDIS_URL: options.redisUrl,
    CARACAL_STS_POLICY_CHECK_INTERVAL_MS: String(options.policyCheckIntervalMs),
    CARACAL_KAFKA_BROKERS: options.kafkaBrokers.join(','),
    CARACAL_AUDIT_TOPIC: options.auditTopic,
    CARACAL_DECISION_LOG_TOPIC: options.decisionLogTopic,
  };
}
