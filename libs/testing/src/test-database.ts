import { Client, escapeIdentifier } from 'pg';

import { infraSettings, type InfraSettings } from './infra-settings.js';
import { infraUnavailable } from './reachability.js';
import { uniqueName } from './unique-name.js';

/** A database created for one test; `drop()` removes it even with open connections. */
export interface TestDatabase {
  /** Connection URL of the new database (same server and role as the admin URL). */
  readonly url: string;
  /** Database name. */
  readonly name: string;
  /** Drops the database, terminating any sessions still connected to it. */
  readonly drop: () => Promise<void>;
}

/**
 * A unique database name on the PostgreSQL of `settings` and its URL, for a test of
 * code that creates the database itself; `drop()` removes it if it was created.
 */
export function reserveTestDatabase(
  settings: Pick<InfraSettings, 'postgresUrl'> = infraSettings(),
  prefix = 'caracal_test',
): TestDatabase {
  const name = uniqueName(prefix);
  const url = new URL(settings.postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdmin(settings, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`),
      ),
  };
}

/**
 * Creates an empty database with a unique name on the PostgreSQL of `settings`, so
 * tests never share schema or rows. Fails fast with setup advice when PostgreSQL is down.
 */
export async function createTestDatabase(
  settings: Pick<InfraSettings, 'postgresUrl'> = infraSettings(),
): Promise<TestDatabase> {
  const database = reserveTestDatabase(settings);
  await withAdmin(settings, (client) =>
    client.query(`CREATE DATABASE ${escapeIdentifier(database.name)}`),
  );
  return database;
}

async function withAdmin(
  settings: Pick<InfraSettings, 'postgresUrl'>,
  work: (client: Client) => Promise<unknown>,
): Promise<void> {
  const client = new Client({
    connectionString: settings.postgresUrl,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw infraUnavailable('postgres', settings.postgresUrl, error);
  }
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
