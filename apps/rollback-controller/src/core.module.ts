import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DatabaseModule } from '@caracal-deploy/postgres';

import { ROLLBACK_CONFIG, type RollbackConfig } from './config/rollback.config.js';
import { CoordinatorClient } from './coordinator/coordinator.client.js';
import { migrations } from './database/migrations.js';
import { ROLLBACK_DB, RollbackRepository } from './database/rollback.repository.js';

/** Config, database, repository and coordinator client, visible to every module of the app. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: RollbackConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        DatabaseModule.forRoot({
          token: ROLLBACK_DB,
          url: config.postgresUrl,
          applicationName: 'rollback-controller',
          migrations,
          migrateOnStart: config.migrateOnStart,
          createDatabase: { enabled: config.createDatabase, name: 'rollback' },
        }),
      ],
      providers: [
        { provide: ROLLBACK_CONFIG, useValue: config },
        RollbackRepository,
        CoordinatorClient,
      ],
      exports: [ROLLBACK_CONFIG, RollbackRepository, CoordinatorClient],
    };
  }
}
