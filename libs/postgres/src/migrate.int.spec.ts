import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  type TestDatabase,
} from '@caracal-deploy/testing';
import { sql, type Kysely } from 'kysely';

import { MigrationError, createDatabase, migrateToLatest, type Migrations } from './index.js';

interface TestSchema {
  zone: { id: string; display_name: string; active_version: string | null };
}

const settings = infraSettings();

// Deliberately not in apply order: names, not registration order, decide.
const migrations: Migrations = {
  '0002_add_active_version': {
    up: async (db) => {
      await db.schema.alterTable('zone').addColumn('active_version', 'text').execute();
    },
  },
  '0001_create_zone': {
    up: async (db) => {
      await db.schema
        .createTable('zone')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('display_name', 'text', (column) => column.notNull())
        .execute();
    },
  },
};

const broken: Migrations = {
  ...migrations,
  '0003_broken': {
    up: async (db) => {
      await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
      await sql`select * from table_that_does_not_exist`.execute(db);
    },
  },
};

async function tableExists(db: Kysely<unknown>, table: string): Promise<boolean> {
  const { rows } = await sql<{
    found: string | null;
  }>`select to_regclass(${table}) as found`.execute(db);
  return rows[0]?.found != null;
}

describe('migrateToLatest against PostgreSQL', () => {
  const databases: TestDatabase[] = [];
  const clients: Kysely<unknown>[] = [];
  async function freshDatabase<DB>(): Promise<Kysely<DB>> {
    const database = await createTestDatabase(settings);
    databases.push(database);
    const db = createDatabase<DB>(database.url, { applicationName: 'postgres-int' });
    clients.push(db as Kysely<unknown>);
    return db;
  }

  before(() => assertReachable('postgres', settings));
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((db) => db.destroy()));
  });
  after(async () => {
    await Promise.all(databases.map((database) => database.drop()));
  });

  it('applies migrations in name order, serves typed queries, and re-running is a no-op', async () => {
    const db = await freshDatabase<TestSchema>();
    assert.deepEqual(await migrateToLatest(db, migrations), [
      '0001_create_zone',
      '0002_add_active_version',
    ]);

    await db
      .insertInto('zone')
      .values([
        { id: 'zone-a', display_name: 'Zone A', active_version: 'psv-1' },
        { id: 'zone-b', display_name: 'Zone B', active_version: null },
      ])
      .execute();
    const rows = await db.selectFrom('zone').selectAll().orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'zone-a', display_name: 'Zone A', active_version: 'psv-1' },
      { id: 'zone-b', display_name: 'Zone B', active_version: null },
    ]);

    assert.deepEqual(await migrateToLatest(db, migrations), []);
    assert.equal((await db.selectFrom('zone').select('id').execute()).length, 2);
  });

  it('names a failing migration and keeps the ones before it applied', async () => {
    const db = await freshDatabase<TestSchema>();
    await assert.rejects(migrateToLatest(db, broken), (error: unknown) => {
      assert.ok(error instanceof MigrationError);
      assert.equal(error.migration, '0003_broken');
      assert.deepEqual(error.applied, ['0001_create_zone', '0002_add_active_version']);
      assert.match(
        error.message,
        /^database migration "0003_broken" failed: .*table_that_does_not_exist/,
      );
      return true;
    });

    const untyped = db as Kysely<unknown>;
    assert.equal(await tableExists(untyped, 'zone'), true);
    assert.equal(
      await tableExists(untyped, 'half_done'),
      false,
      'the failed migration was rolled back',
    );
    const recorded = await sql<{
      name: string;
    }>`select name from kysely_migration order by name`.execute(untyped);
    assert.deepEqual(
      recorded.rows.map((row) => row.name),
      ['0001_create_zone', '0002_add_active_version'],
    );

    // Fixing the broken migration lets the next run pick up exactly where it stopped.
    const fixed: Migrations = {
      ...migrations,
      '0003_broken': {
        up: async (db) => {
          await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
        },
      },
    };
    assert.deepEqual(await migrateToLatest(db, fixed), ['0003_broken']);
  });

  it('refuses to run when an applied migration is missing from the code', async () => {
    const db = await freshDatabase<TestSchema>();
    await migrateToLatest(db, migrations);
    const { '0001_create_zone': _gone, ...withoutFirst } = migrations;
    await assert.rejects(migrateToLatest(db, withoutFirst), (error: unknown) => {
      assert.ok(error instanceof MigrationError);
      assert.equal(error.migration, undefined);
      assert.match(error.message, /0001_create_zone/);
      return true;
    });
  });

  it('keeps two services apart in one database when each has its own bookkeeping tables', async () => {
    const db = await freshDatabase<TestSchema>();
    await migrateToLatest(db, migrations);
    const other: Migrations = {
      '0001_create_other': {
        up: async (db) => {
          await db.schema.createTable('other').addColumn('id', 'text').execute();
        },
      },
    };
    const otherTables = {
      migrationTableName: 'other_migration',
      migrationLockTableName: 'other_migration_lock',
    };
    // With the default tables the two sets collide: each sees the other's as missing.
    await assert.rejects(migrateToLatest(db, other), MigrationError);
    assert.deepEqual(await migrateToLatest(db, other, otherTables), ['0001_create_other']);
    assert.ok(await tableExists(db as Kysely<unknown>, 'other'));
    assert.deepEqual(await migrateToLatest(db, migrations), []);
    assert.deepEqual(await migrateToLatest(db, other, otherTables), []);
  });
});
