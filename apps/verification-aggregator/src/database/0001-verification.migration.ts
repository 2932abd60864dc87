import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Stages with their verdict and evidence rows, and probe results joined to
 * their audit events: everything a restarted aggregator needs to resume a
 * stage mid-bake.
 */
export const verificationMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table stages (
        deployment_id text not null,
        stage text not null,
        zones jsonb not null,
        zone_ids text[] not null,
        regions text[] not null,
        policy_set_version_id text not null,
        revision text not null,
        gates jsonb not null,
        state text not null check (state in ('pending', 'pass', 'fail')),
        rows jsonb not null default '[]',
        started_at timestamptz not null,
        decided_at timestamptz,
        changes integer not null default 0,
        primary key (deployment_id, stage),
        -- A decided verdict has its time; a pending one has none.
        check ((state = 'pending') = (decided_at is null))
      );
      create index stages_pending on stages (started_at) where state = 'pending';
      create index stages_zone_ids on stages using gin (zone_ids);

      create table probe_results (
        request_id text primary key,
        agent_id text not null,
        region text not null,
        zone_id text not null,
        probe_id text not null,
        round bigint not null,
        expected_decision text not null check (expected_decision in ('allow', 'deny')),
        http_status integer not null,
        observed_decision text not null,
        decision_id text not null,
        observed_revision text not null,
        transport_error text not null,
        latency_ms double precision not null,
        sent_at timestamptz not null,
        received_at timestamptz not null default now(),
        audit jsonb,
        result text not null,
        detail text not null
      );
      create index probe_results_zone_sent on probe_results (zone_id, sent_at);
      create index probe_results_received on probe_results (received_at);
    `.execute(db);
  },
};
