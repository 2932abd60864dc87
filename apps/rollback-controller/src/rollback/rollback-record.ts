import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationTrigger,
  RollbackOutcome,
  type RollbackRecordSchema,
} from '@caracal-deploy/contracts';

import type { RollbackRow } from '../database/rollback.repository.js';
import type { StoredOutcome, StoredTrigger } from '../database/rollback.schema.js';

/** The activation triggers a rollback may carry, and how each is stored. */
export const rollbackTriggers: ReadonlyMap<ActivationTrigger, StoredTrigger> = new Map([
  [ActivationTrigger.ROLLBACK_MANUAL, 'rollback_manual'],
  [ActivationTrigger.ROLLBACK_ALERT, 'rollback_alert'],
  [ActivationTrigger.ROLLBACK_VERDICT, 'rollback_verdict'],
]);

const triggerOfStored: Readonly<Record<StoredTrigger, ActivationTrigger>> = {
  rollback_manual: ActivationTrigger.ROLLBACK_MANUAL,
  rollback_alert: ActivationTrigger.ROLLBACK_ALERT,
  rollback_verdict: ActivationTrigger.ROLLBACK_VERDICT,
};

const outcomeOfStored: Readonly<Record<StoredOutcome, RollbackOutcome>> = {
  rolled_back: RollbackOutcome.ROLLED_BACK,
  skipped_not_active: RollbackOutcome.SKIPPED_NOT_ACTIVE,
  skipped_cooldown: RollbackOutcome.SKIPPED_COOLDOWN,
};

/** The `trigger` label value of `caracal_rollbacks_total` for a stored trigger. */
export function triggerLabel(trigger: StoredTrigger): 'manual' | 'alert' | 'verdict' {
  return trigger === 'rollback_manual'
    ? 'manual'
    : trigger === 'rollback_alert'
      ? 'alert'
      : 'verdict';
}

/** The wire outcome of a record; a replayed request that rolled back reads as a duplicate. */
export function outcomeOf(row: RollbackRow, replayed: boolean): RollbackOutcome {
  if (replayed && row.outcome === 'rolled_back') return RollbackOutcome.DUPLICATE;
  return outcomeOfStored[row.outcome];
}

/** A stored record as the RollbackService returns it. */
export function rollbackRecordOf(
  row: RollbackRow,
  replayed = false,
): MessageInitShape<typeof RollbackRecordSchema> {
  return {
    rollbackId: row.id,
    zoneId: row.zone_id,
    outcome: outcomeOf(row, replayed),
    trigger: triggerOfStored[row.trigger],
    fromPolicySetVersionId: row.from_version_id,
    toPolicySetVersionId: row.to_version_id,
    activationId: row.activation_id,
    reason: row.reason,
    actor: row.actor,
    triggerDetails: row.trigger_details,
    createdAtUnixMillis: BigInt(row.created_at.getTime()),
  };
}

/** A stored record as the webhook receivers report it (JSON). */
export function rollbackView(row: RollbackRow, replayed: boolean) {
  return {
    rollback_id: row.id,
    zone_id: row.zone_id,
    outcome: replayed && row.outcome === 'rolled_back' ? 'duplicate' : row.outcome,
    trigger: row.trigger,
    from_policy_set_version_id: row.from_version_id,
    to_policy_set_version_id: row.to_version_id,
    activation_id: row.activation_id,
    created_at: row.created_at.toISOString(),
  };
}
