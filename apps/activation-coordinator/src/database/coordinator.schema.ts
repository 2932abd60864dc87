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

/** Stored names of deployment states. */
export type StoredDeploymentState =
  | 'preflight'
  | 'running'
  | 'paused'
  | 'rolling_back'
  | 'succeeded'
  | 'failed'
  | 'rolled_back'
  | 'aborted';

/** One deployment: its document (see `deployment-model.ts`) and the lease of the replica running it. */
export interface DeploymentsTable {
  id: string;
  seq: Seq;
  policy_set_version_id: string;
  zones: string[];
  state: StoredDeploymentState;
  document: ColumnType<unknown, string, string>;
  idempotency_key: string;
  /** Hash of the request, so a reused idempotency key with another request is refused. */
  request_sha256: string;
  runner: string | null;
  lease_until: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  finished_at: Date | null;
}

/** One recorded state change of a deployment; append-only. */
export interface DeploymentEventsTable {
  seq: Generated<string>;
  deployment_id: string;
  kind: string;
  stage: string;
  zone_id: string;
  message: string;
  details: ColumnType<Record<string, string>, string, never>;
  at: Generated<Date>;
}

/** A stage's verdict for one zone and the version it deployed there. */
export interface StageVerdictsTable {
  deployment_id: string;
  stage: string;
  zone_id: string;
  policy_set_version_id: string;
  passed: boolean;
  evidence: string;
  at: Generated<Date>;
}

/** The coordinator's own tables (and the outbox it shares a transaction with). */
export interface CoordinatorTables extends OutboxDatabase {
  zone_bindings: ZoneBindingsTable;
  activations: ActivationsTable;
  deployments: DeploymentsTable;
  deployment_events: DeploymentEventsTable;
  stage_verdicts: StageVerdictsTable;
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
  manifest: ColumnType<RegistryManifestView, never, never>;
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

/** `expected_case_lists` (read-only): a policy set's declared cases, by revision. */
export interface RegistryExpectedCaseListsView {
  id: ColumnType<string, never, never>;
  policy_set_id: ColumnType<string, never, never>;
  revision: ColumnType<number, never, never>;
}

/** `expected_case_runs` (read-only): one run of a case list on a version's bundle. */
export interface RegistryExpectedCaseRunsView {
  id: ColumnType<string, never, never>;
  seq: Seq;
  policy_set_version_id: ColumnType<string, never, never>;
  expected_case_list_id: ColumnType<string, never, never>;
  bundle_sha256: ColumnType<string, never, never>;
  passed: ColumnType<number, never, never>;
  failed: ColumnType<number, never, never>;
  invalid: ColumnType<number, never, never>;
}

/** `policy_set_versions.manifest` (read-only): the policy versions a set version pins. */
export interface RegistryManifestView {
  readonly policy_versions: readonly { readonly policy: string; readonly content_sha256: string }[];
}

/** Everything the coordinator's queries see. */
export interface CoordinatorDatabase extends CoordinatorTables {
  expected_case_lists: RegistryExpectedCaseListsView;
  expected_case_runs: RegistryExpectedCaseRunsView;
  zones: RegistryZonesView;
  policy_sets: RegistryPolicySetsView;
  policy_set_versions: RegistryPolicySetVersionsView;
  verdicts: RegistryVerdictsView;
  bundles: RegistryBundlesView;
}
