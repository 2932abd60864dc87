import {
  type DynamicModule,
  type InjectionToken,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Kysely } from 'kysely';

import { createDatabase } from './database.js';
import { ensureDatabase } from './ensure-database.js';
import { type MigrationTables, type Migrations, migrateToLatest } from './migrate.js';

/** Options of {@link DatabaseModule.forRoot}. */
export interface DatabaseModuleOptions {
  /** Token the service's `Kysely` instance is provided (and exported) under. */
  readonly token: InjectionToken;
  /** Connection URL of the service's database. */
  readonly url: string;
  /** Shown in `pg_stat_activity.application_name`. */
  readonly applicationName: string;
  /** The service's migrations. */
  readonly migrations: Migrations;
  /** Bookkeeping tables of the migrations; Kysely's defaults when absent. */
  readonly migrationTables?: MigrationTables;
  /** Apply pending migrations before the app serves. */
  readonly migrateOnStart: boolean;
  /**
   * Create the database when it does not exist yet, logging `created the <name> database`
   * when it did; absent for services that share a database created elsewhere.
   */
  readonly createDatabase?: { readonly enabled: boolean; readonly name: string };
}

/** Prepares the database before the app serves and closes the pool at shutdown. */
class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly options: DatabaseModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    const { createDatabase: create, url, applicationName } = this.options;
    if (create?.enabled && (await ensureDatabase(url, applicationName))) {
      this.logger.log(`created the ${create.name} database`);
    }
    if (!this.options.migrateOnStart) return;
    const applied = await migrateToLatest(
      this.db,
      this.options.migrations,
      this.options.migrationTables,
    );
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.join(', ')}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * A service's Kysely database, visible to every module of the app under its own
 * token: created (when asked) and migrated (when asked) before the app serves,
 * its pool closed at shutdown.
 */
@Module({})
export class DatabaseModule {
  /** Provides the database described by `options`. */
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: options.token,
          useFactory: () =>
            createDatabase(options.url, { applicationName: options.applicationName }),
        },
        {
          provide: DatabaseLifecycle,
          useFactory: (db: Kysely<unknown>) => new DatabaseLifecycle(db, options),
          inject: [options.token],
        },
      ],
      exports: [options.token],
    };
  }
}
