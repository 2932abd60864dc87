import { outboxMigration } from '@caracal-deploy/invalidation-outbox';
import type { MigrationTables, Migrations } from '@caracal-deploy/postgres';

import { activationsMigration } from './0002-activations.migration.js';
import { deploymentsMigration } from './0003-deployments.migration.js';

/** The coordinator's migrations, in apply order by name. */
export const migrations: Migrations = {
  '0001_invalidation_outbox': outboxMigration,
  '0002_activations': activationsMigration,
  '0003_deployments': deploymentsMigration,
};

/**
 * Bookkeeping tables of the coordinator's migrations: it shares the database with
 * admin-api (which keeps Kysely's defaults), whose migrator would otherwise see these
 * migrations as unknown ones and refuse to run.
 */
export const migrationTables: MigrationTables = {
  migrationTableName: 'activation_coordinator_migration',
  migrationLockTableName: 'activation_coordinator_migration_lock',
};
