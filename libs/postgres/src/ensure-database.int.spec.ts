import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertReachable, infraSettings, reserveTestDatabase } from '@caracal-deploy/testing';
import { sql } from 'kysely';

import { createDatabase, ensureDatabase } from './index.js';

const settings = infraSettings();

describe('ensureDatabase against PostgreSQL', () => {
  const database = reserveTestDatabase(settings, 'caracal_ensure');

  before(() => assertReachable('postgres', settings));
  after(() => database.drop());

  it('creates a missing database once, also when replicas race for it', async () => {
    const outcomes = await Promise.all([
      ensureDatabase(database.url, 'ensure-a'),
      ensureDatabase(database.url, 'ensure-b'),
      ensureDatabase(database.url, 'ensure-c'),
    ]);
    assert.equal(outcomes.filter(Boolean).length, 1);
    assert.equal(await ensureDatabase(database.url, 'ensure-a'), false);
    const db = createDatabase(database.url, { maxConnections: 1 });
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
    await db.destroy();
    assert.equal(rows[0]?.db, database.name);
  });

  it('passes through errors other than a missing database', async () => {
    const unreachable = new URL(database.url);
    unreachable.port = '1';
    await assert.rejects(ensureDatabase(unreachable.toString(), 'ensure-x'), /ECONNREFUSED/);
  });
});
