import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Zone bindings and the activation history. Registry ids are not foreign keys:
 * the registry is admin-api's and may migrate on its own schedule; the
 * coordinator checks them when it activates.
 */
export const activationsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table activations (
        id uuid primary key,
        seq bigint generated always as identity unique,
        zone_id text not null,
        policy_set_id uuid not null,
        policy_set_version_id uuid not null,
        manifest_sha256 text not null check (manifest_sha256 ~ '^[0-9a-f]{64}$'),
        bundle_sha256 text not null check (bundle_sha256 ~ '^[0-9a-f]{64}$'),
        previous_policy_set_version_id uuid,
        actor text not null,
        reason text not null,
        trigger text not null check (trigger in
          ('manual', 'deployment', 'rollback_manual', 'rollback_alert', 'rollback_verdict')),
        idempotency_key text not null unique,
        outbox_id bigint not null unique references invalidation_outbox (id),
        created_at timestamptz not null default clock_timestamp(),
        outcome text check (outcome in ('converged', 'superseded')),
        propagation_ms integer,
        finished_at timestamptz
      );
      create index activations_zone on activations (zone_id, seq);
      create index activations_open on activations (seq) where outcome is null;

      create table zone_bindings (
        zone_id text primary key,
        policy_set_id uuid not null,
        policy_set_version_id uuid not null,
        manifest_sha256 text not null,
        bundle_sha256 text not null,
        activation_id uuid not null unique references activations (id),
        activated_at timestamptz not null
      );
    `.execute(db);
  },
};
