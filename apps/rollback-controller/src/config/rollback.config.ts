import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';
import { z } from 'zod';

/**
 * The bearer token deploy/alertmanager/alertmanager.yml sends on a developer
 * machine. Anywhere else set CARACAL_ROLLBACK_WEBHOOK_TOKEN to a real secret.
 */
export const devWebhookToken = 'caracal-dev-rollback-webhook-token';

const shape = {
  /** Host the webhook receivers bind; loopback by default so nothing is exposed by accident. */
  CARACAL_ROLLBACK_HTTP_HOST: env.string('127.0.0.1'),
  /** Port of the webhook receivers (deploy/alertmanager/alertmanager.yml posts here; 0 picks one). */
  CARACAL_ROLLBACK_HTTP_PORT: env.port(18090),
  /** Where RollbackService and the shared HealthService are served (`host:port`; port 0 picks one). */
  CARACAL_ROLLBACK_GRPC_ADDRESS: env.string('127.0.0.1:50072'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_ROLLBACK_METRICS_PORT: env.port(9472),
  /**
   * The rollback record database. The controller owns its own database so its
   * migrations never mix with another service's; it is created on start when
   * missing and CARACAL_ROLLBACK_CREATE_DATABASE allows it.
   */
  CARACAL_ROLLBACK_POSTGRES_URL: env.url('postgres://caracal@127.0.0.1:15432/caracal_rollback', [
    'postgres:',
    'postgresql:',
  ]),
  /** Create the database named by CARACAL_ROLLBACK_POSTGRES_URL on start when it does not exist. */
  CARACAL_ROLLBACK_CREATE_DATABASE: env.boolean(true),
  /** Run pending database migrations when the app starts. */
  CARACAL_ROLLBACK_MIGRATE_ON_START: env.boolean(true),
  /** gRPC address of the activation coordinator (`host:port`), the one service a rollback needs. */
  CARACAL_COORDINATOR_GRPC_ADDRESS: env.string('127.0.0.1:50071'),
  /** How long one unary call to the coordinator may take before the rollback answers UNAVAILABLE. */
  CARACAL_ROLLBACK_COORDINATOR_TIMEOUT_MS: env.positiveInt(5_000),
  /** Longest wait for convergence when a caller asks for it; the last status seen is returned. */
  CARACAL_ROLLBACK_CONVERGENCE_TIMEOUT_MS: env.positiveInt(60_000),
  /**
   * After a zone is rolled back, alert- and verdict-triggered rollbacks of that
   * zone are skipped for this long, so a flapping alert cannot walk the zone
   * further and further back. Manual rollbacks are never held back.
   */
  CARACAL_ROLLBACK_COOLDOWN_MS: env.millis(10 * 60_000),
  /** Bearer token every webhook request must carry (`Authorization: Bearer <token>`). */
  CARACAL_ROLLBACK_WEBHOOK_TOKEN: z.string().min(16).default(devWebhookToken),
  /** Shared secret of Grafana's HMAC-SHA256 signature; unset: Grafana requests are not signed. */
  CARACAL_ROLLBACK_GRAFANA_HMAC_SECRET: z.string().min(1).optional(),
  /** Header Grafana puts the hex signature in (Grafana's default). */
  CARACAL_ROLLBACK_GRAFANA_SIGNATURE_HEADER: env.string('X-Grafana-Alerting-Signature'),
  /** Header carrying the Unix timestamp Grafana signs as `<timestamp>:<body>`; unset: the body alone. */
  CARACAL_ROLLBACK_GRAFANA_TIMESTAMP_HEADER: z.string().min(1).optional(),
  /** Oldest (or most future) signed timestamp accepted, against replays. */
  CARACAL_ROLLBACK_GRAFANA_MAX_SKEW_MS: env.positiveInt(5 * 60_000),
  /** Largest accepted webhook body in bytes; larger bodies get 413 (default 1 MiB). */
  CARACAL_ROLLBACK_MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
};

/** Grafana's optional HMAC signing of webhook bodies. */
export interface GrafanaSigning {
  readonly secret: string;
  /** Lowercase header name of the hex signature. */
  readonly signatureHeader: string;
  /** Lowercase header name of the signed Unix timestamp, when Grafana sends one. */
  readonly timestampHeader: string | undefined;
  readonly maxSkewMs: number;
}

/** Validated configuration of rollback-controller. */
export interface RollbackConfig {
  readonly httpHost: string;
  readonly httpPort: number;
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly postgresUrl: string;
  readonly createDatabase: boolean;
  readonly migrateOnStart: boolean;
  readonly coordinatorAddress: string;
  readonly coordinatorTimeoutMs: number;
  readonly convergenceTimeoutMs: number;
  readonly cooldownMs: number;
  readonly webhookToken: string;
  /** Undefined when Grafana requests are not signed. */
  readonly grafanaSigning: GrafanaSigning | undefined;
  readonly maxBodyBytes: number;
}

/** Reads rollback-controller's configuration; throws naming each bad key. */
export function loadRollbackConfig(source?: ConfigSource): RollbackConfig {
  const config = loadConfig(shape, source);
  const secret = config.CARACAL_ROLLBACK_GRAFANA_HMAC_SECRET;
  return {
    httpHost: config.CARACAL_ROLLBACK_HTTP_HOST,
    httpPort: config.CARACAL_ROLLBACK_HTTP_PORT,
    grpcAddress: config.CARACAL_ROLLBACK_GRPC_ADDRESS,
    metricsPort: config.CARACAL_ROLLBACK_METRICS_PORT,
    postgresUrl: config.CARACAL_ROLLBACK_POSTGRES_URL,
    createDatabase: config.CARACAL_ROLLBACK_CREATE_DATABASE,
    migrateOnStart: config.CARACAL_ROLLBACK_MIGRATE_ON_START,
    coordinatorAddress: config.CARACAL_COORDINATOR_GRPC_ADDRESS,
    coordinatorTimeoutMs: config.CARACAL_ROLLBACK_COORDINATOR_TIMEOUT_MS,
    convergenceTimeoutMs: config.CARACAL_ROLLBACK_CONVERGENCE_TIMEOUT_MS,
    cooldownMs: config.CARACAL_ROLLBACK_COOLDOWN_MS,
    webhookToken: config.CARACAL_ROLLBACK_WEBHOOK_TOKEN,
    grafanaSigning:
      secret === undefined
        ? undefined
        : {
            secret,
            signatureHeader: config.CARACAL_ROLLBACK_GRAFANA_SIGNATURE_HEADER.toLowerCase(),
            timestampHeader: config.CARACAL_ROLLBACK_GRAFANA_TIMESTAMP_HEADER?.toLowerCase(),
            maxSkewMs: config.CARACAL_ROLLBACK_GRAFANA_MAX_SKEW_MS,
          },
    maxBodyBytes: config.CARACAL_ROLLBACK_MAX_BODY_BYTES,
  };
}

/** Injection token of the {@link RollbackConfig}. */
export const ROLLBACK_CONFIG = Symbol('ROLLBACK_CONFIG');
