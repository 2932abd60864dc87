import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';

const shape = {
  /** Host the Admin REST API binds; loopback by default so nothing is exposed by accident. */
  CARACAL_ADMIN_HTTP_HOST: env.string('127.0.0.1'),
  /** Port of the Admin REST API (0 picks a free one). */
  CARACAL_ADMIN_HTTP_PORT: env.port(8470),
  /** Where admin-api serves the shared gRPC HealthService (`host:port`; port 0 picks one). */
  CARACAL_ADMIN_GRPC_ADDRESS: env.string('127.0.0.1:50070'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_ADMIN_METRICS_PORT: env.port(9470),
  /** The registry database; tools/infra serves this one. */
  CARACAL_POSTGRES_URL: env.url('postgres://caracal@127.0.0.1:15432/caracal', [
    'postgres:',
    'postgresql:',
  ]),
  /** gRPC address of the policy-validator (`host:port`). */
  CARACAL_VALIDATOR_ADDRESS: env.string('127.0.0.1:50061'),
  /** How long one Validate or BuildBundle call may take before the request fails with 504. */
  CARACAL_VALIDATOR_TIMEOUT_MS: env.millis(60_000),
  /**
   * Largest validator request admin-api sends (gRPC's default receive limit, 4 MiB):
   * a policy set whose merged sources are larger is refused with 413 up front
   * instead of failing inside the transport.
   */
  CARACAL_VALIDATOR_MAX_MESSAGE_BYTES: env.positiveInt(4 * 1024 * 1024),
  /**
   * gRPC address of the activation coordinator (`host:port`), asked for a zone's
   * active binding when a simulation compares a candidate against live.
   */
  CARACAL_COORDINATOR_GRPC_ADDRESS: env.string('127.0.0.1:50071'),
  /** Deadline of one activation coordinator call (activate, status, history), ms. */
  CARACAL_COORDINATOR_TIMEOUT_MS: env.positiveInt(10_000),
  /** gRPC address of the rollback-controller (`host:port`): rollbacks and their record. */
  CARACAL_ROLLBACK_GRPC_ADDRESS: env.string('127.0.0.1:50072'),
  /**
   * Deadline of one rollback-controller call, ms; a rollback that waits for
   * convergence needs the controller's own convergence timeout (60 s) and some.
   */
  CARACAL_ROLLBACK_TIMEOUT_MS: env.positiveInt(90_000),
  /** Largest accepted request body in bytes; larger bodies get 413 (default 1 MiB). */
  CARACAL_ADMIN_MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
  /** Most policy versions one policy-set version may list. */
  CARACAL_MAX_POLICY_SET_SIZE: env.positiveInt(100),
  /** Run pending database migrations when the app starts (the CLI's `migrate` does the same). */
  CARACAL_ADMIN_MIGRATE_ON_START: env.boolean(true),
};

/** Validated configuration of admin-api. */
export interface AdminConfig {
  readonly httpHost: string;
  readonly httpPort: number;
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly postgresUrl: string;
  readonly validatorAddress: string;
  readonly validatorTimeoutMs: number;
  readonly validatorMaxMessageBytes: number;
  readonly coordinatorAddress: string;
  readonly coordinatorTimeoutMs: number;
  readonly rollbackAddress: string;
  readonly rollbackTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxPolicySetSize: number;
  readonly migrateOnStart: boolean;
}

/** Reads admin-api's configuration; throws naming each bad key. */
export function loadAdminConfig(source?: ConfigSource): AdminConfig {
  const config = loadConfig(shape, source);
  return {
    httpHost: config.CARACAL_ADMIN_HTTP_HOST,
    httpPort: config.CARACAL_ADMIN_HTTP_PORT,
    grpcAddress: config.CARACAL_ADMIN_GRPC_ADDRESS,
    metricsPort: config.CARACAL_ADMIN_METRICS_PORT,
    postgresUrl: config.CARACAL_POSTGRES_URL,
    validatorAddress: config.CARACAL_VALIDATOR_ADDRESS,
    validatorTimeoutMs: config.CARACAL_VALIDATOR_TIMEOUT_MS,
    validatorMaxMessageBytes: config.CARACAL_VALIDATOR_MAX_MESSAGE_BYTES,
    coordinatorAddress: config.CARACAL_COORDINATOR_GRPC_ADDRESS,
    coordinatorTimeoutMs: config.CARACAL_COORDINATOR_TIMEOUT_MS,
    rollbackAddress: config.CARACAL_ROLLBACK_GRPC_ADDRESS,
    rollbackTimeoutMs: config.CARACAL_ROLLBACK_TIMEOUT_MS,
    maxBodyBytes: config.CARACAL_ADMIN_MAX_BODY_BYTES,
    maxPolicySetSize: config.CARACAL_MAX_POLICY_SET_SIZE,
    migrateOnStart: config.CARACAL_ADMIN_MIGRATE_ON_START,
  };
}

/** Injection token of the {@link AdminConfig}. */
export const ADMIN_CONFIG = Symbol('ADMIN_CONFIG');
