import { join } from 'node:path';

import { workspaceRoot } from '@caracal-deploy/config';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import {
  freePort,
  startServiceProcess,
  type InfraSettings,
  type ServiceProcess,
} from '@caracal-deploy/testing';

const root = workspaceRoot(import.meta.url);

/** The compiled entry point of another app of the workspace (spawned, never imported). */
const appMain = (app: string) => join(root, 'apps', app, 'dist', 'main.js');

/** A spawned control-plane service and its gRPC address. */
export interface SpawnedService {
  readonly process: ServiceProcess;
  readonly address: string;
}

/** A loopback `host:port` nobody listens on right now. */
export const freeAddress = async () => `127.0.0.1:${await freePort()}`;

/** Resolves true once the gRPC HealthService at `address` answers SERVING. */
function grpcServing(address: string): () => Promise<boolean> {
  return async () => {
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 1_000 });
    try {
      const answer = await health.check({ components: [] }).catch(() => undefined);
      return answer?.status === ServingStatus.SERVING;
    } finally {
      health.close();
    }
  };
}

/** Boots the real policy-validator; it creates its bundle signing key under `keyDir`. */
export async function startValidator(
  settings: InfraSettings,
  keyDir: string,
): Promise<SpawnedService> {
  const address = await freeAddress();
  const process = await startServiceProcess({
    name: 'policy-validator',
    main: appMain('policy-validator'),
    env: {
      CARACAL_VALIDATOR_GRPC_ADDRESS: address,
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_OPA_BIN: settings.opaBin,
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_BUNDLE_SIGNING_KEY_FILE: join(keyDir, 'bundle-signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'admin-activation-e2e',
    },
    ready: grpcServing(address),
  });
  return { process, address };
}

/**
 * Boots the real activation coordinator on the registry's database. `stallAfterMs`
 * is how long an activation nobody serves stays converging before it is stalled.
 */
export async function startCoordinator(
  settings: InfraSettings,
  databaseUrl: string,
  stallAfterMs: number,
): Promise<SpawnedService> {
  const address = await freeAddress();
  const process = await startServiceProcess({
    name: 'activation-coordinator',
    main: appMain('activation-coordinator'),
    env: {
      CARACAL_COORDINATOR_GRPC_ADDRESS: address,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
      CARACAL_POSTGRES_URL: databaseUrl,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_COORDINATOR_STALL_AFTER_MS: String(stallAfterMs),
    },
    ready: grpcServing(address),
  });
  return { process, address };
}

/** Boots the real rollback-controller on its own database, in front of the coordinator. */
export async function startRollbackController(
  databaseUrl: string,
  coordinatorAddress: string,
): Promise<SpawnedService> {
  const address = await freeAddress();
  const process = await startServiceProcess({
    name: 'rollback-controller',
    main: appMain('rollback-controller'),
    env: {
      CARACAL_ROLLBACK_HTTP_HOST: '127.0.0.1',
      CARACAL_ROLLBACK_HTTP_PORT: String(await freePort()),
      CARACAL_ROLLBACK_GRPC_ADDRESS: address,
      CARACAL_ROLLBACK_METRICS_PORT: '0',
      CARACAL_ROLLBACK_POSTGRES_URL: databaseUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
    },
    ready: grpcServing(address),
  });
  return { process, address };
}
