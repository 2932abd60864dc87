import type { Migrations } from '@caracal-deploy/postgres';

import { rollbacksMigration } from './0001-rollbacks.migration.js';

/** rollback-controller's migrations, in apply order by name. */
export const migrations: Migrations = {
  '0001_rollbacks': rollbacksMigration,
};
