export { createDatabase } from './database.js';
export type { DatabaseOptions } from './database.js';
export { DatabaseModule } from './database.module.js';
export type { DatabaseModuleOptions } from './database.module.js';
export { ensureDatabase } from './ensure-database.js';
export { MigrationError, migrateToLatest } from './migrate.js';
export type { MigrationTables, Migrations } from './migrate.js';
export type { Migration } from 'kysely';
