import 'reflect-metadata';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NestFactory } from '@nestjs/core';
import { assertReachable, infraSettings, reserveTestDatabase } from '@caracal-deploy/testing';
import { type Kysely, sql } from 'kysely';

import { DatabaseModule, type Migrations } from './index.js';

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
  const database = reserveTestDatabase(settings, 'caracal_dbmodule');

  before(() => assertReachable('postgres', settings));
  after(() => database.drop());

  it('creates and migrates the database before the app runs, and closes the pool at shutdown', async () => {
    const app = await NestFactory.createApplicationContext(
      DatabaseModule.forRoot({
        token: DB,
        url: database.url,
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
        url: database.url,
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
