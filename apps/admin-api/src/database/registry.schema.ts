import type { ColumnType, Generated } from 'kysely';

/** A column the database fills on insert and never changes. */
type Created<T> = ColumnType<T, T | undefined, never>;
/** `bigint` identity columns: pg returns int8 as a string, which keeps full precision. */
type Seq = ColumnType<string, never, never>;
/** jsonb: written as JSON text, read back parsed. */
type Json<T> = ColumnType<T, string, string>;

/** A tenant/environment; everything else hangs off a zone. */
export interface ZonesTable {
  id: Generated<string>;
  seq: Seq;
  name: string;
  description: string;
  created_by: string;
  created_at: Created<Date>;
}

/** One resource of a zone's catalog. */
export interface ResourcesTable {
  id: Generated<string>;
  seq: Seq;
  zone_id: string;
  identifier: string;
  catalog_id: string;
  type: string;
  scopes: string[];
  operations: string[];
  created_by: string;
  created_at: Created<Date>;
}

/** A named policy in a zone; its content lives in versions. */
export interface PoliciesTable {
  id: Generated<string>;
  seq: Seq;
  zone_id: string;
  name: string;
  description: string;
  created_by: string;
  created_at: Created<Date>;
}

/** The content of one policy version, as hashed into `content_sha256`. */
export interface PolicyVersionContent {
  readonly modules: readonly { readonly path: string; readonly source: string }[];
  readonly data: readonly { readonly path: string; readonly json: unknown }[];
  readonly tests: readonly {
    readonly name: string;
    readonly input: unknown;
    readonly expected_decision: 'allow' | 'deny';
  }[];
}

/** Immutable content-addressed policy version (a trigger refuses UPDATE and DELETE). */
export interface PolicyVersionsTable {
  id: Generated<string>;
  seq: Seq;
  policy_id: string;
  content_sha256: string;
  content: Json<PolicyVersionContent>;
  source_format: string;
  created_by: string;
  created_at: Created<Date>;
}

/** A named policy set in a zone; its manifests live in versions. */
export interface PolicySetsTable {
  id: Generated<string>;
  seq: Seq;
  zone_id: string;
  name: string;
  description: string;
  created_by: string;
  created_at: Created<Date>;
}

/** The manifest of one policy-set version, as hashed into `manifest_sha256`. */
export interface PolicySetManifest {
  readonly schema: 'caracal-deploy.policy-set-manifest.v1';
  readonly zone: string;
  readonly policy_set: string;
  readonly policy_versions: readonly {
    readonly policy: string;
    readonly id: string;
    readonly content_sha256: string;
  }[];
}

/** Immutable manifest of policy versions (a trigger refuses UPDATE and DELETE). */
export interface PolicySetVersionsTable {
  id: Generated<string>;
  seq: Seq;
  policy_set_id: string;
  manifest_sha256: string;
  manifest: Json<PolicySetManifest>;
  created_by: string;
  created_at: Created<Date>;
}

/** A validator finding as stored and as returned over HTTP. */
export interface StoredFinding {
  readonly severity: 'error' | 'warning' | 'unspecified';
  readonly code: string;
  readonly message: string;
  readonly location: { readonly file: string; readonly line: number; readonly column: number };
  readonly details: Readonly<Record<string, string>>;
}

/** A Rego or pack test outcome as stored and as returned over HTTP. */
export interface StoredTestResult {
  readonly name: string;
  readonly kind: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly actual: string;
  readonly message: string;
}

/** One answer of the validator about one version; append-only. */
export interface VerdictsTable {
  id: Generated<string>;
  seq: Seq;
  policy_version_id: string | null;
  policy_set_version_id: string | null;
  valid: boolean;
  findings: Json<StoredFinding[]>;
  tests: Json<StoredTestResult[]>;
  opa_version: string;
  catalog_sha256: string;
  created_by: string;
  created_at: Created<Date>;
}

/** A built, signed bundle, addressed by the sha256 of its bytes; immutable. */
export interface BundlesTable {
  sha256: string;
  seq: Seq;
  policy_set_version_id: string;
  revision: string;
  bytes: Buffer;
  size_bytes: number;
  signing_key_id: string;
  signing_algorithm: string;
  created_by: string;
  created_at: Created<Date>;
}

/** An API token: only its sha256 is stored. */
export interface ApiTokensTable {
  id: Generated<string>;
  seq: Seq;
  name: string;
  role: string;
  token_sha256: string;
  created_by: string;
  created_at: Created<Date>;
  revoked_at: Date | null;
}

/** Who created (or revoked) what, and when; append-only. */
export interface HistoryTable {
  seq: Seq;
  actor: string;
  action: string;
  entity_kind: string;
  entity_id: string;
  zone: string | null;
  details: Json<Record<string, string>>;
  at: Created<Date>;
}

/** One declared case as stored: a policy input and the decision it should get. */
export interface StoredCase {
  readonly name: string;
  readonly input: Readonly<Record<string, unknown>>;
  readonly expected_decision: 'allow' | 'deny';
}

/** One revision of a policy set's expected cases; a new revision replaces the list. */
export interface ExpectedCaseListsTable {
  id: Generated<string>;
  seq: Seq;
  policy_set_id: string;
  revision: number;
  cases: Json<StoredCase[]>;
  created_by: string;
  created_at: Created<Date>;
}

/** One case's outcome as stored and as returned over HTTP. */
export interface StoredCaseResult {
  readonly name: string;
  readonly expected_decision: 'allow' | 'deny' | null;
  readonly passed: boolean;
  readonly flipped: boolean;
  readonly candidate: StoredEvaluation | null;
  readonly baseline: StoredEvaluation | null;
  readonly input_warnings: readonly { code: string; message: string; path: string }[];
  readonly invalid: { readonly field: string; readonly problem: string } | null;
}

/** What one bundle decided for one input. */
export interface StoredEvaluation {
  readonly decision: 'allow' | 'deny';
  readonly evaluation_status: string;
  readonly determining_policies: readonly unknown[];
  readonly diagnostics: readonly unknown[];
  readonly result: unknown;
}

/** A run of a set's expected cases on one of its versions' bundle; immutable. */
export interface ExpectedCaseRunsTable {
  id: Generated<string>;
  seq: Seq;
  policy_set_version_id: string;
  expected_case_list_id: string;
  bundle_sha256: string;
  passed: number;
  failed: number;
  invalid: number;
  results: Json<StoredCaseResult[]>;
  created_by: string;
  created_at: Created<Date>;
}

/** The registry's tables as Kysely sees them. */
export interface RegistryDatabase {
  zones: ZonesTable;
  resources: ResourcesTable;
  policies: PoliciesTable;
  policy_versions: PolicyVersionsTable;
  policy_sets: PolicySetsTable;
  policy_set_versions: PolicySetVersionsTable;
  verdicts: VerdictsTable;
  bundles: BundlesTable;
  api_tokens: ApiTokensTable;
  history: HistoryTable;
  expected_case_lists: ExpectedCaseListsTable;
  expected_case_runs: ExpectedCaseRunsTable;
}
