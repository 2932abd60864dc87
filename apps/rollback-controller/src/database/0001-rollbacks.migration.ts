import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The rollback record: one append-only row per rollback asked for, including
 * those that changed nothing (skipped), keyed by the idempotency key so a
 * retried or duplicated request finds the first answer.
 */
export const rollbacksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table rollbacks (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        zone_id text not null,
        idempotency_key text not null unique,
        outcome text not null
          check (outcome in ('rolled_back', 'skipped_not_active', 'skipped_cooldown')),
        trigger text not null
          check (trigger in ('rollback_manual', 'rollback_alert', 'rollback_verdict')),
        from_version_id text not null,
        to_version_id text not null,
        activation_id text not null,
        reason text not null,
        actor text not null,
        trigger_details jsonb not null default '{}',
        created_at timestamptz not null default now()
      );
      create index rollbacks_zone on rollbacks (zone_id, seq);
      -- The cooldown looks up a zone's latest effective rollback.
      create index rollbacks_zone_rolled_back on rollbacks (zone_id, created_at)
        where outcome = 'rolled_back';

      create function caracal_rollbacks_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception 'rows of % are immutable: % refused', tg_table_name, tg_op
          using errcode = 'restrict_violation';
      end
      $$;
      create trigger rollbacks_immutable_rows before update or delete on rollbacks
        for each row execute function caracal_rollbacks_refuse_change();
      create trigger rollbacks_immutable_truncate before truncate on rollbacks
        for each statement execute function caracal_rollbacks_refuse_change();
    `.execute(db);
  },
};
