import { sql } from 'kysely';

import { createDatabase } from './database.js';

/** PostgreSQL's SQLSTATE of a connection error, if it has one. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Creates the database `url` names when it does not exist yet (connecting to
 * the server's `postgres` database to do so), for services that keep their
 * state in a database of their own. Resolves true when it created it. A
 * concurrent creation by another replica counts as success.
 */
export async function ensureDatabase(url: string, applicationName: string): Promise<boolean> {
  const probe = createDatabase(url, { maxConnections: 1, applicationName });
  try {
    await sql`select 1`.execute(probe);
    return false;
  } catch (error) {
    // 3D000 invalid_catalog_name: the database does not exist. Anything else is real.
    if (sqlState(error) !== '3D000') throw error;
  } finally {
    await probe.destroy();
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = createDatabase(maintenance.toString(), { maxConnections: 1, applicationName });
  try {
    await sql`create database ${sql.id(name)}`.execute(admin);
    return true;
  } catch (error) {
    // Another replica created it first: 42P04 duplicate_database when its
    // creation had committed, 23505 unique_violation when both ran at once.
    const state = sqlState(error);
    if (state === '42P04' || state === '23505') return false;
    throw error;
  } finally {
    await admin.destroy();
  }
}
