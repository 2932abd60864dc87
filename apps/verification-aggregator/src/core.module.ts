import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DatabaseModule } from '@caracal-deploy/postgres';

import { VERIFIER_CONFIG, type VerifierConfig } from './config/verifier.config.js';
import { CoordinatorClient } from './coordinator/coordinator.client.js';
import { migrations } from './database/migrations.js';
import { VERIFICATION_DB, VerificationRepository } from './database/verification.repository.js';
import { AuditFollower } from './audit/audit-follower.js';
import { ProbeJoin } from './probes/probe-join.js';
import { VerifierMetrics } from './verdict/verifier-metrics.js';

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
      imports: [
        DatabaseModule.forRoot({
          token: VERIFICATION_DB,
          url: config.postgresUrl,
          applicationName: 'verification-aggregator',
          migrations,
          migrateOnStart: config.migrateOnStart,
          createDatabase: { enabled: config.createDatabase, name: 'verification' },
        }),
      ],
      providers: [
        { provide: VERIFIER_CONFIG, useValue: config },
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
        VerificationRepository,
        CoordinatorClient,
        VerifierMetrics,
        AuditFollower,
      ],
      exports: [
        VERIFIER_CONFIG,
        VerificationRepository,
        CoordinatorClient,
        ProbeJoin,
        VerifierMetrics,
        AuditFollower,
      ],
    };
  }
}
