import type { Migrations } from '@caracal-deploy/postgres';

import { verificationMigration } from './0001-verification.migration.js';

/** verification-aggregator's migrations, in apply order by name. */
export const migrations: Migrations = {
  '0001_verification': verificationMigration,
};
