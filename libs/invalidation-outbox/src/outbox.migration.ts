import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';

/** Columns of `invalidation_outbox`, for Kysely's typing. */
export interface InvalidationOutboxTable {
  id: Generated<string>;
  zone_id: string;
  /** The stream entry's fields (`caracal.policy.invalidate` contract); written as JSON text. */
  fields: ColumnType<Record<string, string>, string, string>;
  created_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  published_at: Date | null;
  stream_id: string | null;
  dead_at: Date | null;
  last_error: string | null;
}

/** The database shape this lib reads and writes. */
export interface OutboxDatabase {
  invalidation_outbox: InvalidationOutboxTable;
}

/**
 * The outbox table and the trigger that wakes dispatchers (NOTIFY) in the same
 * transaction that inserts a row; include it in the owning service's migrations.
 */
export const outboxMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table invalidation_outbox (
        id bigserial primary key,
        zone_id text not null,
        fields jsonb not null,
        created_at timestamptz not null default now(),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        published_at timestamptz,
        stream_id text,
        dead_at timestamptz,
        last_error text
      )`.execute(db);
    await sql`
      create index invalidation_outbox_pending on invalidation_outbox (next_attempt_at, id)
      where published_at is null and dead_at is null`.execute(db);
    await sql`
      create function invalidation_outbox_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('invalidation_outbox', new.id::text);
        return new;
      end $$`.execute(db);
    await sql`
      create trigger invalidation_outbox_notify after insert on invalidation_outbox
      for each row execute function invalidation_outbox_notify()`.execute(db);
  },
};
