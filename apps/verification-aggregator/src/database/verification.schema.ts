import type { ColumnType } from 'kysely';

import type { AuditFacts } from '../audit/audit-event.js';
import type { Gates, JudgedState, RowResult } from '../verdict/verdict-rows.js';

/** jsonb: written as JSON text, read back parsed. */
type Json<T> = ColumnType<T, string, string>;
/** `bigint` columns: pg returns int8 as a string, which keeps full precision. */
type Int8 = ColumnType<string, string, string>;

/** A stage's zone and the activation that stage made in it. */
export interface StoredStageZone {
  readonly zone_id: string;
  readonly activation_id: string;
}

/** One verified deployment stage: what it is judged against, and its verdict with the evidence rows. */
export interface StagesTable {
  deployment_id: string;
  stage: string;
  zones: Json<StoredStageZone[]>;
  /** The zones again, as an array the probe and stage lookups index. */
  zone_ids: string[];
  regions: string[];
  /** Empty when the caller named none. */
  policy_set_version_id: string;
  /** Normalized bundle revision (lower-case hex). */
  revision: string;
  gates: Json<Gates>;
  state: JudgedState;
  rows: Json<RowResult[]>;
  started_at: Date;
  decided_at: Date | null;
  /** Bumped on every stored change; a watch compares it. */
  changes: ColumnType<number, number | undefined, number>;
}

/** One probe report and the audit event joined to it (null when none came within the deadline). */
export interface ProbeResultsTable {
  request_id: string;
  agent_id: string;
  region: string;
  zone_id: string;
  probe_id: string;
  round: Int8;
  expected_decision: string;
  http_status: number;
  observed_decision: string;
  decision_id: string;
  observed_revision: string;
  transport_error: string;
  latency_ms: number;
  sent_at: Date;
  received_at: ColumnType<Date, Date | undefined, never>;
  audit: Json<AuditFacts | null>;
  /** The classification answered on the stream (CanaryResult name, lower case). */
  result: string;
  detail: string;
}

/** verification-aggregator's tables as Kysely sees them. */
export interface VerificationDatabase {
  stages: StagesTable;
  probe_results: ProbeResultsTable;
}
