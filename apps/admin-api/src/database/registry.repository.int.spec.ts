import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { AlreadyExistsError } from '@caracal-deploy/errors';
import { createDatabase, migrateToLatest } from '@caracal-deploy/postgres';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  type TestDatabase,
} from '@caracal-deploy/testing';
import { sql, type Kysely } from 'kysely';

import { runCli } from '../cli.js';
import { hashApiToken } from '../auth/api-token.js';
import { immutableTables } from './0001-registry.migration.js';
import { expectedCaseTables } from './0002-expected-cases.migration.js';
import { migrations } from './migrations.js';
import { RegistryRepository, type NewVerdict } from './registry.repository.js';
import type { RegistryDatabase } from './registry.schema.js';

const settings = infraSettings();
const validVerdict: NewVerdict = {
  valid: true,
  findings: [],
  tests: [],
  opaVersion: '1.0.0',
  catalogSha256: 'c'.repeat(64),
};
const content = {
  modules: [{ path: 'policies/a.rego', source: 'package caracal.authz\n' }],
  data: [],
  tests: [],
};

describe('registry in PostgreSQL', () => {
  let database: TestDatabase;
  let db: Kysely<RegistryDatabase>;
  let repository: RegistryRepository;

  before(async () => {
    await assertReachable('postgres', settings);
    database = await createTestDatabase(settings);
    db = createDatabase<RegistryDatabase>(database.url, { applicationName: 'admin-api-int' });
    repository = new RegistryRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('migrates a fresh database, and a second run applies nothing', async () => {
    assert.deepEqual(await migrateToLatest(db, migrations), [
      '0001_registry',
      '0002_expected_cases',
    ]);
    assert.deepEqual(await migrateToLatest(db, migrations), []);
    const lines: string[] = [];
    const source = { CARACAL_POSTGRES_URL: database.url };
    assert.equal(await runCli(['migrate'], (line) => lines.push(line), source), 0);
    assert.deepEqual(lines, ['up to date']);
    assert.equal(await runCli(['drop-everything'], (line) => lines.push(line), source), 2);
    assert.match(lines.at(-1) ?? '', /^usage:/);
  });

  it('stores a policy version and its verdict once per content sha', async () => {
    const zone = await repository.createZone('int-zone', '', 'tester');
    const policy = await repository.createNamed('policies', zone, 'baseline', '', 'tester');
    const values = {
      policyId: policy.id,
      sha: 'a'.repeat(64),
      content,
      sourceFormat: 'sources',
      zone: zone.name,
    };
    const first = await repository.storePolicyVersion(values, validVerdict, 'tester');
    const again = await repository.storePolicyVersion(
      values,
      { ...validVerdict, valid: false },
      'tester',
    );
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.equal(again.row.id, first.row.id);
    assert.deepEqual(again.row.content, content);
    const latest = await repository.latestVerdicts('policy_version_id', [first.row.id]);
    assert.equal(latest.get(first.row.id)?.id, again.verdict.id, 'the newest verdict wins');
    const history = await repository.listHistory({ zone: zone.name }, { limit: 50 });
    assert.deepEqual(
      history.map((entry) => entry.action),
      [
        'verdict.recorded',
        'verdict.recorded',
        'policy_version.created',
        'policy.created',
        'zone.created',
      ],
    );
  });

  it('answers a duplicate name with AlreadyExists and keeps no half row', async () => {
    await repository.createZone('dup-zone', '', 'tester');
    await assert.rejects(repository.createZone('dup-zone', '', 'tester'), AlreadyExistsError);
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from history where zone = 'dup-zone'`.execute(db);
    assert.equal(rows[0]?.n, '1');
  });

  it('refuses resource identifiers that are not resource://<slug>, in the schema too', async () => {
    const zone = await repository.createZone('catalog-zone', '', 'tester');
    await assert.rejects(
      repository.createResource(
        zone,
        { identifier: 'api', catalog_id: 'r1', type: 'http', scopes: [], operations: [] },
        'tester',
      ),
      /check constraint/,
    );
  });

  it('stores a bundle once per policy-set version', async () => {
    const zone = await repository.zone('int-zone');
    const set = await repository.createNamed('policy_sets', zone, 'main', '', 'tester');
    const manifest = {
      schema: 'caracal-deploy.policy-set-manifest.v1' as const,
      zone: zone.name,
      policy_set: 'main',
      policy_versions: [],
    };
    const version = await repository.storePolicySetVersion(
      { setId: set.id, sha: 'b'.repeat(64), manifest, zone: zone.name },
      validVerdict,
      'tester',
    );
    const bundle = {
      policy_set_version_id: version.row.id,
      revision: 'b'.repeat(64),
      signing_key_id: 'k',
      signing_algorithm: 'ES256',
    };
    const first = await repository.storeBundle(
      { ...bundle, sha256: 'd'.repeat(64), bytes: Buffer.from('one') },
      zone.name,
      'tester',
    );
    const second = await repository.storeBundle(
      { ...bundle, sha256: 'e'.repeat(64), bytes: Buffer.from('two') },
      zone.name,
      'tester',
    );
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.row.sha256, 'd'.repeat(64));
    assert.deepEqual((await repository.bundle('d'.repeat(64))).bytes, Buffer.from('one'));
  });

  it('keeps every revision of expected cases and one run per version and revision', async () => {
    const zone = await repository.zone('int-zone');
    const set = await repository.named('policy_sets', zone, 'main');
    const version = (await repository.listPolicySetVersions(set.id, { limit: 1 }))[0];
    assert.ok(version);
    const cases = [
      { name: 'read', input: { action: { id: 'read' } }, expected_decision: 'allow' as const },
    ];
    const first = await repository.putExpectedCases(set, zone.name, cases, 'tester');
    const second = await repository.putExpectedCases(set, zone.name, [], 'tester');
    assert.deepEqual([first.revision, second.revision], [1, 2]);
    assert.equal((await repository.latestExpectedCases(set.id))?.id, second.id);
    assert.deepEqual((await repository.latestExpectedCases(set.id))?.cases, []);

    const run = {
      policySetVersionId: version.id,
      list: first,
      bundleSha256: 'd'.repeat(64),
      results: [],
      counts: { passed: 1, failed: 0, invalid: 0 },
    };
    const stored = await repository.storeExpectedCaseRun(run, zone.name, 'tester');
    const again = await repository.storeExpectedCaseRun(
      { ...run, counts: { passed: 0, failed: 1, invalid: 0 } },
      zone.name,
      'tester',
    );
    assert.equal(again.id, stored.id, 'the first run of a revision on a version stays');
    assert.equal(again.passed, 1);
    const latest = await repository.latestExpectedCaseRun(version.id);
    assert.equal(latest?.revision, 1);
    assert.equal(latest?.bundle_sha256, 'd'.repeat(64));
  });

  for (const table of [...immutableTables, ...expectedCaseTables]) {
    it(`refuses a raw UPDATE and DELETE of ${table} rows`, async () => {
      const { rows } = await sql<{
        n: string;
      }>`select count(*) as n from ${sql.table(table)}`.execute(db);
      assert.ok(Number(rows[0]?.n) > 0, `${table} has rows to attack`);
      const column = table === 'history' ? 'actor' : 'created_by';
      await assert.rejects(
        sql`update ${sql.table(table)} set ${sql.ref(column)} = 'mallory'`.execute(db),
        new RegExp(`rows of ${table} are immutable: UPDATE refused`),
      );
      await assert.rejects(
        sql`delete from ${sql.table(table)}`.execute(db),
        new RegExp(`rows of ${table} are immutable: DELETE refused`),
      );
      await assert.rejects(
        sql`truncate ${sql.table(table)} cascade`.execute(db),
        /immutable: TRUNCATE refused/,
      );
    });
  }

  it('pages lists with a cursor and no overlap', async () => {
    for (const name of ['page-a', 'page-b', 'page-c'])
      await repository.createZone(name, '', 'tester');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const rows = await repository.listZones({ limit: 2, cursor });
      const page = rows.slice(0, 2);
      seen.push(...page.map((row) => row.name));
      cursor =
        rows.length > 2 ? Buffer.from(`c1.${page.at(-1)?.seq}`).toString('base64url') : undefined;
    } while (cursor !== undefined);
    assert.deepEqual(
      seen.filter((name) => name.startsWith('page-')),
      ['page-a', 'page-b', 'page-c'],
    );
    assert.equal(new Set(seen).size, seen.length);
  });

  it('creates a bootstrap token from the CLI and stores only its hash', async () => {
    const lines: string[] = [];
    const code = await runCli(
      ['create-token', '--role', 'admin', '--name', 'ops-root'],
      (line) => lines.push(line),
      {
        CARACAL_POSTGRES_URL: database.url,
      },
    );
    assert.equal(code, 0);
    const [token] = lines;
    assert.match(token ?? '', /^cdt_[A-Za-z0-9_-]{43}$/);
    const row = await repository.findActiveToken(hashApiToken(token ?? ''));
    assert.equal(row?.role, 'admin');
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from api_tokens where token_sha256 = ${token ?? ''}`.execute(db);
    assert.equal(rows[0]?.n, '0', 'the token itself is never stored');
    assert.equal(
      await runCli(['create-token', '--role', 'root', '--name', 'x'], () => undefined, {
        CARACAL_POSTGRES_URL: database.url,
      }),
      2,
    );
  });
});
