import { type DynamicModule, Global, Module } from '@nestjs/common';
import { DatabaseModule } from '@caracal-deploy/postgres';

import { ADMIN_CONFIG, type AdminConfig } from './config/admin.config.js';
import { ValidatorClient } from './validation/validator.client.js';
import { migrations } from './database/migrations.js';
import { REGISTRY_DB, RegistryRepository } from './database/registry.repository.js';

/** Config, database, repository and validator client, visible to every module of the app. */
@Global()
@Module({})
export class CoreModule {
  /** Provides the shared infrastructure for `config`. */
  static forRoot(config: AdminConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        DatabaseModule.forRoot({
          token: REGISTRY_DB,
          url: config.postgresUrl,
          applicationName: 'admin-api',
          migrations,
          migrateOnStart: config.migrateOnStart,
        }),
      ],
      providers: [{ provide: ADMIN_CONFIG, useValue: config }, RegistryRepository, ValidatorClient],
      exports: [ADMIN_CONFIG, RegistryRepository, ValidatorClient],
    };
  }
}
