import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Staged deployments: the deployment document (request, pre-flight evidence,
 * stage and zone progress) with the lease of the coordinator replica running
 * it, the append-only event log every state change lands in, and the stage
 * verdicts per zone and version that decide the last known good version.
 */
export const deploymentsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      create table deployments (
        id uuid primary key,
        seq bigint generated always as identity unique,
        policy_set_version_id uuid not null,
        zones text[] not null,
        state text not null check (state in
          ('preflight', 'running', 'paused', 'rolling_back', 'succeeded', 'failed', 'rolled_back', 'aborted')),
        document jsonb not null,
        idempotency_key text not null unique,
        request_sha256 text not null,
        runner text,
        lease_until timestamptz,
        created_at timestamptz not null default clock_timestamp(),
        updated_at timestamptz not null default clock_timestamp(),
        finished_at timestamptz
      );
      create index deployments_open on deployments (seq)
        where state in ('running', 'paused', 'rolling_back');
      create index deployments_zones on deployments using gin (zones);

      create table deployment_events (
        seq bigint generated always as identity primary key,
        deployment_id uuid not null references deployments (id),
        kind text not null,
        stage text not null,
        zone_id text not null,
        message text not null,
        details jsonb not null,
        at timestamptz not null default clock_timestamp()
      );
      create index deployment_events_deployment on deployment_events (deployment_id, seq);

      create table stage_verdicts (
        deployment_id uuid not null references deployments (id),
        stage text not null,
        zone_id text not null,
        policy_set_version_id uuid not null,
        passed boolean not null,
        evidence text not null,
        at timestamptz not null default clock_timestamp(),
        primary key (deployment_id, stage, zone_id)
      );
      create index stage_verdicts_zone on stage_verdicts (zone_id, policy_set_version_id);
    `.execute(db);
  },
};
