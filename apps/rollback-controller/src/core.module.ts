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

import { ROLLBACK_CONFIG, type RollbackConfig } from './config/rollback.config.js';
import { CoordinatorClient } from './coordinator/coordinator.client.js';
import { migrations } from './database/migrations.js';
import { ROLLBACK_DB, RollbackRepository } from './database/rollback.repository.js';
import type { RollbackDatabase } from './database/rollback.schema.js';

/** Creates the database when missing and applies migrations before the app serves; closes the pool at shutdown. */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(ROLLBACK_DB) private readonly db: Kysely<RollbackDatabase>,
    @Inject(ROLLBACK_CONFIG) private readonly config: RollbackConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (
      this.config.createDatabase &&
      (await ensureDatabase(this.config.postgresUrl, 'rollback-controller'))
    ) {
      this.logger.log('created the rollback database');
    }
    if (!this.config.migrateOnStart) return;
    const applied = await migrateToLatest(this.db, migrations);
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/** Config, database, repository and coordinator client, visible to every module of the app. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: RollbackConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: ROLLBACK_CONFIG, useValue: config },
        {
          provide: ROLLBACK_DB,
          useFactory: () =>
            createDatabase<RollbackDatabase>(config.postgresUrl, {
              applicationName: 'rollback-controller',
            }),
        },
        DatabaseLifecycle,
        RollbackRepository,
        CoordinatorClient,
      ],
      exports: [ROLLBACK_CONFIG, ROLLBACK_DB, RollbackRepository, CoordinatorClient],
    };
  }
}
