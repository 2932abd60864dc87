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
import { createDatabase, migrateToLatest } from '@caracal-deploy/postgres';
import type { Kysely } from 'kysely';

import { ADMIN_CONFIG, type AdminConfig } from './config/admin.config.js';
import { ValidatorClient } from './validation/validator.client.js';
import { migrations } from './database/migrations.js';
import { REGISTRY_DB, RegistryRepository } from './database/registry.repository.js';
import type { RegistryDatabase } from './database/registry.schema.js';

/** Applies pending migrations before the app serves, and closes the pool at shutdown. */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    @Inject(REGISTRY_DB) private readonly db: Kysely<RegistryDatabase>,
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.migrateOnStart) return;
    const applied = await migrateToLatest(this.db, migrations);
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/** Config, database, repository and validator client, visible to every module of the app. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: AdminConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: ADMIN_CONFIG, useValue: config },
        {
          provide: REGISTRY_DB,
          useFactory: () =>
            createDatabase<RegistryDatabase>(config.postgresUrl, { applicationName: 'admin-api' }),
        },
        DatabaseLifecycle,
        RegistryRepository,
        ValidatorClient,
      ],
      exports: [ADMIN_CONFIG, REGISTRY_DB, RegistryRepository, ValidatorClient],
    };
  }
}
