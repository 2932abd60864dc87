import type { ColumnType, Generated } from 'kysely';

/** A column the database fills on insert and never changes. */
type Created<T> = ColumnType<T, T | undefined, never>;
/** `bigint` identity columns: pg returns int8 as a string, which keeps full precision. */
type Seq = ColumnType<string, never, never>;
/** jsonb: written as JSON text, read back parsed. */
type Json<T> = ColumnType<T, string, string>;

/** What a rollback request came to, as stored. */
export type StoredOutcome = 'rolled_back' | 'skipped_not_active' | 'skipped_cooldown';

/** Why the rollback was asked for, as stored. */
export type StoredTrigger = 'rollback_manual' | 'rollback_alert' | 'rollback_verdict';

/** One rollback request and what it did; append-only (a trigger refuses UPDATE and DELETE). */
export interface RollbacksTable {
  id: Generated<string>;
  seq: Seq;
  zone_id: string;
  idempotency_key: string;
  outcome: StoredOutcome;
  trigger: StoredTrigger;
  /** The zone's active version when the request was judged; empty when it had none. */
  from_version_id: string;
  /** The version activated; empty when nothing changed. */
  to_version_id: string;
  /** The coordinator's activation; empty when nothing changed. */
  activation_id: string;
  reason: string;
  actor: string;
  trigger_details: Json<Record<string, string>>;
  created_at: Created<Date>;
}

/** rollback-controller's tables as Kysely sees them. */
export interface RollbackDatabase {
  rollbacks: RollbacksTable;
}
