import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

import { UnavailableError } from '@caracal-deploy/errors';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

import { infraSettings, type InfraSettings } from './infra-settings.js';
import { describeError, errorCode } from './wait-for.js';

/** A real component integration tests depend on. */
export type InfraComponent =
  'opa' | 'opa-server' | 'kafka' | 'redis' | 'postgres' | 'prometheus' | 'alertmanager';

// How long a single reachability probe may take: a missing component must fail
// the test run quickly instead of hanging it.
const probeTimeoutMs = 5_000;

const components: Record<
  InfraComponent,
  {
    readonly label: string;
    readonly envVar: string;
    readonly address: (settings: InfraSettings) => string;
    readonly probe: (settings: InfraSettings) => Promise<void>;
  }
> = {
  opa: {
    label: 'The OPA CLI',
    envVar: 'CARACAL_OPA_BIN',
    address: (s) => s.opaBin,
    probe: (s) => access(s.opaBin, constants.X_OK),
  },
  'opa-server': {
    label: 'The OPA server',
    envVar: 'CARACAL_OPA_URL',
    address: (s) => s.opaUrl,
    probe: (s) => httpReady(new URL('/health', s.opaUrl)),
  },
  kafka: {
    label: 'Kafka',
    envVar: 'CARACAL_KAFKA_BROKERS',
    address: (s) => s.kafkaBrokers.join(','),
    probe: (s) => kafkaReady(s.kafkaBrokers),
  },
  redis: {
    label: 'Redis',
    envVar: 'CARACAL_REDIS_URL',
    address: (s) => s.redisUrl,
    probe: (s) => redisReady(s.redisUrl),
  },
  postgres: {
    label: 'PostgreSQL',
    envVar: 'CARACAL_POSTGRES_URL',
    address: (s) => s.postgresUrl,
    probe: (s) => postgresReady(s.postgresUrl),
  },
  prometheus: {
    label: 'Prometheus',
    envVar: 'CARACAL_PROMETHEUS_URL',
    address: (s) => s.prometheusUrl,
    probe: (s) => httpReady(new URL('/-/ready', s.prometheusUrl)),
  },
  alertmanager: {
    label: 'Alertmanager',
    envVar: 'CARACAL_ALERTMANAGER_URL',
    address: (s) => s.alertmanagerUrl,
    probe: (s) => httpReady(new URL('/-/ready', s.alertmanagerUrl)),
  },
};

/**
 * The error every helper throws when a component is missing: what is unreachable,
 * where, why, and how to fix it (start tools/infra or point the env var elsewhere).
 */
export function infraUnavailable(
  component: InfraComponent,
  address: string,
  cause: unknown,
): UnavailableError {
  const { label, envVar } = components[component];
  const verb = component === 'opa' ? 'is not usable' : 'is not reachable';
  const reason = errorCode(cause) ?? describeError(cause);
  return new UnavailableError(
    `${label} ${verb} at ${redact(address)} (${reason}). ` +
      `Start the local infrastructure with \`npm run infra -- up\`, or set ${envVar}.`,
    { cause, details: { component } },
  );
}

/**
 * Resolves when `component` answers a health probe; otherwise rejects within a few
 * seconds with an {@link UnavailableError} saying how to bring it up.
 */
export async function assertReachable(
  component: InfraComponent,
  settings: InfraSettings = infraSettings(),
): Promise<void> {
  try {
    await components[component].probe(settings);
  } catch (error) {
    throw infraUnavailable(component, components[component].address(settings), error);
  }
}

function redact(address: string): string {
  try {
    const url = new URL(address);
    if (url.password) url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return address;
  }
}

async function httpReady(url: URL): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(probeTimeoutMs) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`GET ${url.pathname} answered HTTP ${response.status}`);
}

async function redisReady(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: probeTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with a bare "Connection is closed."; the socket error
  // that explains it (ECONNREFUSED, ENOTFOUND, ...) only arrives as an 'error' event.
  let socketError: unknown;
  redis.on('error', (error) => {
    socketError ??= error;
  });
  try {
    await redis.connect().catch((error: unknown) => {
      throw socketError ?? error;
    });
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

async function postgresReady(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: probeTimeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function kafkaReady(brokers: readonly string[]): Promise<void> {
  const admin = new Kafka({
    clientId: 'caracal-testing-probe',
    brokers: [...brokers],
    connectionTimeout: probeTimeoutMs,
    requestTimeout: probeTimeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}
