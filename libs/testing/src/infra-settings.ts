import { fileURLToPath } from 'node:url';

import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';

/** Connection settings of every real component integration tests talk to. */
export interface InfraSettings {
  /** Path of the `opa` CLI binary. */
  readonly opaBin: string;
  /** Base URL of the OPA server. */
  readonly opaUrl: string;
  /** Kafka bootstrap brokers as `host:port`. */
  readonly kafkaBrokers: readonly string[];
  /** Redis connection URL. */
  readonly redisUrl: string;
  /** PostgreSQL connection URL of a role allowed to create databases. */
  readonly postgresUrl: string;
  /** Base URL of Prometheus. */
  readonly prometheusUrl: string;
  /** Directory Prometheus reads file_sd target files from. */
  readonly prometheusTargetsDir: string;
  /** Base URL of Alertmanager. */
  readonly alertmanagerUrl: string;
  /** Where Alertmanager delivers notifications (the rollback-controller's receiver). */
  readonly alertmanagerWebhookUrl: string;
}

// dist/infra-settings.js sits three levels below the repository root
// (libs/testing/dist), and so does src/ when run from source.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Where `tools/infra` installs binaries and configuration (`<repo>/.local`). */
export const localDir = `${repoRoot}.local`;

const shape = {
  /** Path of the opa CLI; tools/infra builds it into .local/bin. */
  CARACAL_OPA_BIN: env.string(`${localDir}/bin/opa`),
  /** OPA server started by tools/infra. */
  CARACAL_OPA_URL: env.url('http://127.0.0.1:18181', ['http:', 'https:']),
  /** Comma-separated Kafka bootstrap brokers. */
  CARACAL_KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  /** Redis of tools/infra. */
  CARACAL_REDIS_URL: env.url('redis://127.0.0.1:16379', ['redis:', 'rediss:']),
  /** PostgreSQL of tools/infra; role caracal is a superuser with trust auth there. */
  CARACAL_POSTGRES_URL: env.url('postgres://caracal@127.0.0.1:15432/caracal', [
    'postgres:',
    'postgresql:',
  ]),
  /** Prometheus of tools/infra. */
  CARACAL_PROMETHEUS_URL: env.url('http://127.0.0.1:19090', ['http:', 'https:']),
  /** file_sd directory the tools/infra Prometheus watches. */
  CARACAL_PROMETHEUS_TARGETS_DIR: env.string(`${localDir}/etc/prometheus/targets`),
  /** Alertmanager of tools/infra. */
  CARACAL_ALERTMANAGER_URL: env.url('http://127.0.0.1:19093', ['http:', 'https:']),
  /** The webhook tools/infra renders into the Alertmanager config. */
  CARACAL_ALERTMANAGER_WEBHOOK_URL: env.url('http://127.0.0.1:18090/v1/webhooks/alertmanager', [
    'http:',
    'https:',
  ]),
};

/**
 * Reads the integration-test connection settings from `CARACAL_*` variables of
 * `source` (default: the process environment); unset values default to the
 * addresses `tools/infra/infra.sh up` serves on loopback.
 */
export function infraSettings(source?: ConfigSource): InfraSettings {
  const config = loadConfig(shape, source);
  return {
    opaBin: config.CARACAL_OPA_BIN,
    opaUrl: config.CARACAL_OPA_URL,
    kafkaBrokers: config.CARACAL_KAFKA_BROKERS,
    redisUrl: config.CARACAL_REDIS_URL,
    postgresUrl: config.CARACAL_POSTGRES_URL,
    prometheusUrl: config.CARACAL_PROMETHEUS_URL,
    prometheusTargetsDir: config.CARACAL_PROMETHEUS_TARGETS_DIR,
    alertmanagerUrl: config.CARACAL_ALERTMANAGER_URL,
    alertmanagerWebhookUrl: config.CARACAL_ALERTMANAGER_WEBHOOK_URL,
  };
}
