import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DatabaseModule } from '@caracal-deploy/postgres';
import { createRedis } from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';

import { ActivationRepository, COORDINATOR_DB } from './activation/activation.repository.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config/coordinator.config.js';
import { migrationTables, migrations } from './database/migrations.js';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import { COORDINATOR_REDIS } from './redis.tokens.js';

/** Closes the Redis connection at shutdown. */
@Injectable()
export class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(COORDINATOR_REDIS) private readonly redis: Redis) {}

  onApplicationShutdown(): void {
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
      imports: [
        DatabaseModule.forRoot({
          token: COORDINATOR_DB,
          url: config.postgresUrl,
          applicationName: 'activation-coordinator',
          migrations,
          migrationTables,
          migrateOnStart: config.migrateOnStart,
        }),
      ],
      providers: [
        { provide: COORDINATOR_CONFIG, useValue: config },
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
        RedisLifecycle,
        ActivationRepository,
        CoordinatorMetrics,
      ],
      exports: [COORDINATOR_CONFIG, COORDINATOR_REDIS, ActivationRepository, CoordinatorMetrics],
    };
  }
}
