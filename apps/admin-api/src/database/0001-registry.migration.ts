import { sql, type Kysely, type Migration } from 'kysely';

/** Tables whose rows are written once and never changed or removed. */
export const immutableTables = [
  'policy_versions',
  'policy_set_versions',
  'verdicts',
  'bundles',
  'history',
] as const;

/** The registry: zones, catalog, policies, versions, verdicts, bundles, tokens, history. */
export const registryMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table zones (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        name text not null unique,
        description text not null default '',
        created_by text not null,
        created_at timestamptz not null default now()
      );

      create table resources (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        zone_id uuid not null references zones (id),
        identifier text not null check (identifier ~ '^resource://[a-z0-9][a-z0-9-]*$'),
        catalog_id text not null,
        type text not null,
        scopes text[] not null,
        operations text[] not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (zone_id, identifier),
        unique (zone_id, catalog_id)
      );

      create table policies (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        zone_id uuid not null references zones (id),
        name text not null,
        description text not null default '',
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (zone_id, name)
      );

      create table policy_versions (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        policy_id uuid not null references policies (id),
        content_sha256 text not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
        content jsonb not null,
        source_format text not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (policy_id, content_sha256)
      );

      create table policy_sets (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        zone_id uuid not null references zones (id),
        name text not null,
        description text not null default '',
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (zone_id, name)
      );

      create table policy_set_versions (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        policy_set_id uuid not null references policy_sets (id),
        manifest_sha256 text not null check (manifest_sha256 ~ '^[0-9a-f]{64}$'),
        manifest jsonb not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        unique (policy_set_id, manifest_sha256)
      );

      -- Verdicts are kept apart so version rows never change: a re-validation
      -- (e.g. after the catalog gained a resource) appends a verdict.
      create table verdicts (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        policy_version_id uuid references policy_versions (id),
        policy_set_version_id uuid references policy_set_versions (id),
        valid boolean not null,
        findings jsonb not null,
        tests jsonb not null,
        opa_version text not null,
        catalog_sha256 text not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        check ((policy_version_id is null) <> (policy_set_version_id is null))
      );
      create index verdicts_policy_version on verdicts (policy_version_id, seq);
      create index verdicts_policy_set_version on verdicts (policy_set_version_id, seq);

      create table bundles (
        sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
        seq bigint generated always as identity unique,
        policy_set_version_id uuid not null unique references policy_set_versions (id),
        revision text not null,
        bytes bytea not null,
        size_bytes integer not null,
        signing_key_id text not null,
        signing_algorithm text not null,
        created_by text not null,
        created_at timestamptz not null default now()
      );

      create table api_tokens (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        name text not null unique,
        role text not null check (role in ('viewer', 'author', 'deployer', 'admin')),
        token_sha256 text not null unique,
        created_by text not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz
      );

      create table history (
        seq bigint generated always as identity primary key,
        actor text not null,
        action text not null,
        entity_kind text not null,
        entity_id text not null,
        zone text,
        details jsonb not null default '{}',
        at timestamptz not null default now()
      );
      create index history_zone on history (zone, seq);

      create function caracal_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception 'rows of % are immutable: % refused', tg_table_name, tg_op
          using errcode = 'restrict_violation';
      end
      $$;
    `.execute(db);
    for (const table of immutableTables) {
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
