import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';
import { FailedPreconditionError } from '@caracal-deploy/errors';
import type { StartedTestContainer } from 'testcontainers';
import { z } from 'zod';

import { infraSettings, type InfraSettings } from './infra-settings.js';

/** Components {@link startContainerInfra} can run in Docker. */
export type ContainerComponent = 'redis' | 'postgres' | 'kafka';

/** Settings pointing at the started containers, and how to stop them. */
export interface ContainerInfra {
  /** Same shape as {@link infraSettings}; components not started keep their env/default values. */
  readonly settings: InfraSettings;
  /** Stops and removes every started container. */
  stop(): Promise<void>;
}

/** Where {@link startContainerInfra} reads its switches and looks for Docker. */
export interface ContainerInfraOptions {
  /** Environment to read `CARACAL_TESTCONTAINERS`, `DOCKER_HOST` and `CARACAL_*` from. */
  readonly source?: ConfigSource;
  /** Docker socket whose presence means Docker is available; defaults to `/var/run/docker.sock`. */
  readonly dockerSocketPath?: string;
}

/** Images matching the versions tools/infra provisions. */
export const containerImages: Readonly<Record<ContainerComponent, string>> = {
  redis: 'redis:7',
  postgres: 'postgres:15',
  kafka: 'apache/kafka:4.4.0',
};

const switches = {
  /** `1` opts into running components with testcontainers instead of tools/infra. */
  CARACAL_TESTCONTAINERS: env.boolean(false),
  /** Remote or non-default Docker endpoint, as understood by testcontainers. */
  DOCKER_HOST: z.string().optional(),
};

/** True when `CARACAL_TESTCONTAINERS=1`, i.e. tests should start their own containers. */
export function testcontainersEnabled(source?: ConfigSource): boolean {
  return loadConfig(switches, source).CARACAL_TESTCONTAINERS;
}

/**
 * Opt-in alternative to tools/infra for machines with Docker: starts the given
 * components with testcontainers and returns settings in the {@link InfraSettings}
 * shape. Refuses unless `CARACAL_TESTCONTAINERS=1`, and says so clearly when Docker
 * is absent. Kafka advertises `localhost`, so a remote `DOCKER_HOST` is not supported.
 */
export async function startContainerInfra(
  components: readonly ContainerComponent[],
  options: ContainerInfraOptions = {},
): Promise<ContainerInfra> {
  const config = loadConfig(switches, options.source);
  if (!config.CARACAL_TESTCONTAINERS) {
    throw new FailedPreconditionError(
      'startContainerInfra is opt-in: set CARACAL_TESTCONTAINERS=1 to run components in Docker. ' +
        'The default path uses the local infrastructure from tools/infra (`npm run infra -- up`).',
    );
  }
  const socket = options.dockerSocketPath ?? '/var/run/docker.sock';
  if (config.DOCKER_HOST === undefined && !existsSync(socket)) {
    throw new FailedPreconditionError(
      `Docker is not available (no ${socket} and DOCKER_HOST is not set), so CARACAL_TESTCONTAINERS=1 cannot start containers. ` +
        'The default path needs no Docker: start the local infrastructure with `npm run infra -- up` (tools/infra) and unset CARACAL_TESTCONTAINERS.',
    );
  }

  const tc = await import('testcontainers');
  const started: StartedTestContainer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.splice(0).map((container) => container.stop()));
  };
  let settings = infraSettings(options.source);
  try {
    for (const component of new Set(components)) {
      if (component === 'redis') {
        const redis = await new tc.GenericContainer(containerImages.redis)
          .withExposedPorts(6379)
          .withWaitStrategy(tc.Wait.forLogMessage(/Ready to accept connections/))
          .start();
        started.push(redis);
        settings = {
          ...settings,
          redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
        };
      } else if (component === 'postgres') {
        const postgres = await new tc.GenericContainer(containerImages.postgres)
          .withEnvironment({
            POSTGRES_USER: 'caracal',
            POSTGRES_DB: 'caracal',
            POSTGRES_HOST_AUTH_METHOD: 'trust',
          })
          .withExposedPorts(5432)
          // The entrypoint starts the server twice (init, then for real).
          .withWaitStrategy(
            tc.Wait.forLogMessage(/database system is ready to accept connections/, 2),
          )
          .start();
        started.push(postgres);
        settings = {
          ...settings,
          postgresUrl: `postgres://caracal@${postgres.getHost()}:${postgres.getMappedPort(5432)}/caracal`,
        };
      } else {
        // Kafka must advertise the address clients use, which is only known up front
        // when the host port is fixed.
        const port = await freePort();
        const kafka = await new tc.GenericContainer(containerImages.kafka)
          .withEnvironment({
            KAFKA_NODE_ID: '1',
            KAFKA_PROCESS_ROLES: 'broker,controller',
            KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
            KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${port}`,
            KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
            KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          })
          .withExposedPorts({ container: 9092, host: port })
          .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
          .start();
        started.push(kafka);
        settings = { ...settings, kafkaBrokers: [`localhost:${port}`] };
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { settings, stop };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port assigned');
  return address.port;
}
