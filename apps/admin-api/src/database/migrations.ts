import type { Migrations } from '@caracal-deploy/postgres';

import { registryMigration } from './0001-registry.migration.js';
import { expectedCasesMigration } from './0002-expected-cases.migration.js';

/** admin-api's migrations, in apply order by name. */
export const migrations: Migrations = {
  '0001_registry': registryMigration,
  '0002_expected_cases': expectedCasesMigration,
};
