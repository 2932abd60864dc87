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
import { createDatabase, ensureDatabase, migrateToLatest } from '@caracal-deploy/postgres';
import type { Kysely } from 'kysely';

import { VERIFIER_CONFIG, type VerifierConfig } from './config/verifier.config.js';
import { CoordinatorClient } from './coordinator/coordinator.client.js';
import { migrations } from './database/migrations.js';
import { VERIFICATION_DB, VerificationRepository } from './database/verification.repository.js';
import type { VerificationDatabase } from './database/verification.schema.js';
import { AuditFollower } from './audit/audit-follower.js';
import { ProbeJoin } from './probes/probe-join.js';
import { VerifierMetrics } from './verdict/verifier-metrics.js';

/** Creates the database when missing and applies migrations before the app serves; closes the pool at shutdown. */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(VERIFICATION_DB) private readonly db: Kysely<VerificationDatabase>,
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (
      this.config.createDatabase &&
      (await ensureDatabase(this.config.postgresUrl, 'verification-aggregator'))
    ) {
      this.logger.log('created the verification database');
    }
    if (!this.config.migrateOnStart) return;
    const applied = await migrateToLatest(this.db, migrations);
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * Config, database, repository, coordinator client, the probe join with the
 * audit follower that feeds it, and the metrics: visible to every module of
 * the app (the health indicators among them).
 */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: VerifierConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: VERIFIER_CONFIG, useValue: config },
        {
          provide: VERIFICATION_DB,
          useFactory: () =>
            createDatabase<VerificationDatabase>(config.postgresUrl, {
              applicationName: 'verification-aggregator',
            }),
        },
        {
          provide: ProbeJoin,
          useFactory: () =>
            new ProbeJoin({
              deadlineMs: config.joinDeadlineMs,
              auditRetentionMs: config.auditRetentionMs,
              maxAuditEvents: config.maxBufferedAuditEvents,
              maxWaitingReports: config.maxWaitingReports,
            }),
        },
        DatabaseLifecycle,
        VerificationRepository,
        CoordinatorClient,
        VerifierMetrics,
        AuditFollower,
      ],
      exports: [
        VERIFIER_CONFIG,
        VERIFICATION_DB,
        VerificationRepository,
        CoordinatorClient,
        ProbeJoin,
        VerifierMetrics,
        AuditFollower,
      ],
    };
  }
}
