import type { OutboxDatabase } from '@caracal-deploy/invalidation-outbox';
import type { ColumnType, Generated } from 'kysely';

/** `bigint` identity columns: pg returns int8 as a string, which keeps full precision. */
type Seq = ColumnType<string, never, never>;

/** What a zone serves now: one row per zone, changed only by compare-and-set in an activation. */
export interface ZoneBindingsTable {
  zone_id: string;
  policy_set_id: string;
  policy_set_version_id: string;
  manifest_sha256: string;
  bundle_sha256: string;
  activation_id: string;
  activated_at: Date;
}

/** How an activation's rollout ended, once it has; `null` while it is open. */
export type ActivationOutcome = 'converged' | 'superseded';

/** One activation as recorded: who, why, from which version, and how its rollout ended. */
export interface ActivationsTable {
  id: string;
  seq: Seq;
  zone_id: string;
  policy_set_id: string;
  policy_set_version_id: string;
  manifest_sha256: string;
  bundle_sha256: string;
  previous_policy_set_version_id: string | null;
  actor: string;
  reason: string;
  trigger: string;
  idempotency_key: string;
  outbox_id: string;
  created_at: Generated<Date>;
  outcome: ActivationOutcome | null;
  propagation_ms: number | null;
  finished_at: Date | null;
}

/** The coordinator's own tables (and the outbox it shares a transaction with). */
export interface CoordinatorTables extends OutboxDatabase {
  zone_bindings: ZoneBindingsTable;
  activations: ActivationsTable;
}

// The registry belongs to admin-api; the coordinator only reads these columns of it.

/** `zones` (read-only): zones are addressed by their name, the slug the data plane uses. */
export interface RegistryZonesView {
  id: ColumnType<string, never, never>;
  name: ColumnType<string, never, never>;
}

/** `policy_sets` (read-only). */
export interface RegistryPolicySetsView {
  id: ColumnType<string, never, never>;
  zone_id: ColumnType<string, never, never>;
  name: ColumnType<string, never, never>;
}

/** `policy_set_versions` (read-only). */
export interface RegistryPolicySetVersionsView {
  id: ColumnType<string, never, never>;
  policy_set_id: ColumnType<string, never, never>;
  manifest_sha256: ColumnType<string, never, never>;
}

/** `verdicts` (read-only): the validator's answers, append-only; the latest one counts. */
export interface RegistryVerdictsView {
  seq: Seq;
  policy_set_version_id: ColumnType<string | null, never, never>;
  valid: ColumnType<boolean, never, never>;
}

/** `bundles` (read-only): one signed bundle per policy-set version. */
export interface RegistryBundlesView {
  sha256: ColumnType<string, never, never>;
  policy_set_version_id: ColumnType<string, never, never>;
  revision: ColumnType<string, never, never>;
}

/** Everything the coordinator's queries see. */
export interface CoordinatorDatabase extends CoordinatorTables {
  zones: RegistryZonesView;
  policy_sets: RegistryPolicySetsView;
  policy_set_versions: RegistryPolicySetVersionsView;
  verdicts: RegistryVerdictsView;
  bundles: RegistryBundlesView;
}
