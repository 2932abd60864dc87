import 'reflect-metadata';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NestFactory } from '@nestjs/core';
import { assertReachable, infraSettings, uniqueName } from '@caracal-deploy/testing';
import { type Kysely, sql } from 'kysely';

import { DatabaseModule, createDatabase, type Migrations } from './index.js';

const settings = infraSettings();
const DB = Symbol('DB');

const migrations: Migrations = {
  '0001_note': {
    up: async (db: Kysely<unknown>) => {
      await db.schema.createTable('note').addColumn('text', 'text').execute();
    },
  },
};

describe('DatabaseModule against PostgreSQL', () => {
  const name = uniqueName('caracal_dbmodule');
  const url = new URL(settings.postgresUrl);
  url.pathname = `/${name}`;

  before(() => assertReachable('postgres', settings));
  after(async () => {
    const admin = createDatabase(settings.postgresUrl, { maxConnections: 1 });
    await sql`drop database if exists ${sql.id(name)}`.execute(admin);
    await admin.destroy();
  });

  it('creates and migrates the database before the app runs, and closes the pool at shutdown', async () => {
    const app = await NestFactory.createApplicationContext(
      DatabaseModule.forRoot({
        token: DB,
        url: url.toString(),
        applicationName: 'database-module-spec',
        migrations,
        migrateOnStart: true,
        createDatabase: { enabled: true, name: 'spec' },
      }),
      { logger: false },
    );
    const db = app.get<Kysely<{ note: { text: string } }>>(DB);
    await db.insertInto('note').values({ text: 'hello' }).execute();
    const rows = await db.selectFrom('note').select('text').execute();
    assert.deepEqual(rows, [{ text: 'hello' }]);
    await app.close();
    await assert.rejects(db.selectFrom('note').select('text').execute());
  });

  it('leaves the schema alone when migrating on start is off', async () => {
    const app = await NestFactory.createApplicationContext(
      DatabaseModule.forRoot({
        token: DB,
        url: url.toString(),
        applicationName: 'database-module-spec',
        migrations: {
          ...migrations,
          '0002_other': {
            up: async (db: Kysely<unknown>) => {
              await db.schema.createTable('other').addColumn('id', 'integer').execute();
            },
          },
        },
        migrateOnStart: false,
      }),
      { logger: false },
    );
    const db = app.get<Kysely<unknown>>(DB);
    const { rows } = await sql<{ table: string | null }>`
      select to_regclass('other')::text as table`.execute(db);
    await app.close();
    assert.equal(rows[0]?.table, null);
  });
});
