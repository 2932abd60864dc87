import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { OutboxDispatcher, type OutboxDatabase } from '@caracal-deploy/invalidation-outbox';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';

import { COORDINATOR_DB } from '../activation/activation.repository.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';
import type { CoordinatorDatabase } from '../database/coordinator.schema.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { COORDINATOR_REDIS } from '../redis.tokens.js';

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs the outbox dispatcher (outbox → Redis `caracal.policy.invalidate`) for the app's lifetime. */
@Injectable()
export class OutboxHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OutboxDispatcher');
  private dispatcher: OutboxDispatcher | undefined;

  constructor(
    @Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>,
    @Inject(COORDINATOR_REDIS) private readonly redis: Redis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly metrics: CoordinatorMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { outbox } = this.config;
    this.dispatcher = new OutboxDispatcher({
      // The dispatcher only touches invalidation_outbox, which this database has.
      db: this.db as unknown as Kysely<OutboxDatabase>,
      postgresUrl: this.config.postgresUrl,
      redis: this.redis,
      maxAttempts: outbox.maxAttempts,
      retryBaseMs: outbox.retryBaseMs,
      retryMaxMs: outbox.retryMaxMs,
      pollIntervalMs: outbox.pollIntervalMs,
      events: {
        onPublished: () => this.metrics.outboxPublished.inc(),
        onRetry: (id, attempt, error) => {
          this.metrics.outboxRetries.inc();
          this.logger.warn(
            `outbox row ${id}: attempt ${attempt} failed (${reason(error)}); retrying`,
          );
        },
        onDeadLettered: (id, zoneId, attempts, error) => {
          this.metrics.outboxDeadLetters.inc();
          this.logger.error(
            `outbox row ${id} of zone "${zoneId}" dead-lettered after ${attempts} attempts: ${reason(error)}`,
          );
        },
        onError: (error) => this.logger.warn(`outbox pass failed: ${reason(error)}`),
      },
    });
    await this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher?.stop();
  }
}
