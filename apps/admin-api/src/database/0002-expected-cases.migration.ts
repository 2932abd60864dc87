import { sql, type Kysely, type Migration } from 'kysely';

/** Tables of expected cases whose rows are written once and never changed or removed. */
export const expectedCaseTables = ['expected_case_lists', 'expected_case_runs'] as const;

/**
 * Expected cases stored with a policy set, and their runs on the set's versions.
 * A list is replaced by appending a new revision, so a run always names the exact
 * cases it ran; both tables are immutable like the rest of the registry.
 */
export const expectedCasesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table expected_case_lists (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        policy_set_id uuid not null references policy_sets (id),
        revision integer not null check (revision > 0),
        cases jsonb not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (policy_set_id, revision)
      );

      create table expected_case_runs (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        policy_set_version_id uuid not null references policy_set_versions (id),
        expected_case_list_id uuid not null references expected_case_lists (id),
        bundle_sha256 text not null references bundles (sha256),
        passed integer not null,
        failed integer not null,
        invalid integer not null,
        results jsonb not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (policy_set_version_id, expected_case_list_id)
      );
      create index expected_case_runs_version on expected_case_runs (policy_set_version_id, seq);
    `.execute(db);
    for (const table of expectedCaseTables) {
      await sql`
        create trigger ${sql.raw(`${table}_immutable_rows`)}
          before update or delete on ${sql.table(table)}
          for each row execute function caracal_refuse_change()
      `.execute(db);
      await sql`
        create trigger ${sql.raw(`${table}_immutable_truncate`)}
          before truncate on ${sql.table(table)}
          for each statement execute function caracal_refuse_change()
      `.execute(db);
    }
  },
};
