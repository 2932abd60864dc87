import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { createDatabase } from '@caracal-deploy/postgres';
import { createRedis } from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';

import { ActivationRepository, COORDINATOR_DB } from './activation/activation.repository.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config/coordinator.config.js';
import type { CoordinatorDatabase } from './database/coordinator.schema.js';
import { migrateCoordinator } from './database/migrations.js';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import { COORDINATOR_REDIS } from './redis.tokens.js';

/** Applies pending migrations before the app serves; closes the pool and Redis at shutdown. */
@Injectable()
export class StoresLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>,
    @Inject(COORDINATOR_REDIS) private readonly redis: Redis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.migrateOnStart) return;
    const applied = await migrateCoordinator(this.db);
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
    this.redis.disconnect();
  }
}

/** Config, database, Redis, repository and metrics, visible to every module of the app. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: CoordinatorConfig): DynamicModule {
    const logger = new Logger('Redis');
    return {
      module: CoreModule,
      providers: [
        { provide: COORDINATOR_CONFIG, useValue: config },
        {
          provide: COORDINATOR_DB,
          useFactory: () =>
            createDatabase<CoordinatorDatabase>(config.postgresUrl, {
              applicationName: 'activation-coordinator',
            }),
        },
        {
          provide: COORDINATOR_REDIS,
          useFactory: async () => {
            const redis = await createRedis(config.redisUrl, {
              connectionName: 'caracal-activation-coordinator',
              maxRetriesPerRequest: 1,
              onError: (error) => logger.warn(`Redis connection: ${error.message}`),
            });
            // Once connected, a command issued while Redis is away fails at once instead of
            // queueing, and one Redis never answers fails after the timeout: the outbox
            // publishes inside a transaction holding its row locks, and its own backoff is
            // the retry policy.
            redis.options.enableOfflineQueue = false;
            redis.options.commandTimeout = config.redisCommandTimeoutMs;
            return redis;
          },
        },
        StoresLifecycle,
        ActivationRepository,
        CoordinatorMetrics,
      ],
      exports: [
        COORDINATOR_CONFIG,
        COORDINATOR_DB,
        COORDINATOR_REDIS,
        ActivationRepository,
        CoordinatorMetrics,
      ],
    };
  }
}
