import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertReachable, infraSettings, uniqueName } from '@caracal-deploy/testing';
import { sql } from 'kysely';

import { createDatabase, ensureDatabase } from './index.js';

const settings = infraSettings();

describe('ensureDatabase against PostgreSQL', () => {
  const name = uniqueName('caracal_ensure');
  const url = new URL(settings.postgresUrl);
  url.pathname = `/${name}`;

  before(() => assertReachable('postgres', settings));
  after(async () => {
    const admin = createDatabase(settings.postgresUrl, { maxConnections: 1 });
    await sql`drop database if exists ${sql.id(name)}`.execute(admin);
    await admin.destroy();
  });

  it('creates a missing database once, also when replicas race for it', async () => {
    const outcomes = await Promise.all([
      ensureDatabase(url.toString(), 'ensure-a'),
      ensureDatabase(url.toString(), 'ensure-b'),
      ensureDatabase(url.toString(), 'ensure-c'),
    ]);
    assert.equal(outcomes.filter(Boolean).length, 1);
    assert.equal(await ensureDatabase(url.toString(), 'ensure-a'), false);
    const db = createDatabase(url.toString(), { maxConnections: 1 });
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
    await db.destroy();
    assert.equal(rows[0]?.db, name);
  });

  it('passes through errors other than a missing database', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    await assert.rejects(ensureDatabase(unreachable.toString(), 'ensure-x'), /ECONNREFUSED/);
  });
});
