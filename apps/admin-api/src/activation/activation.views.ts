import {
  type Activation,
  type ActivationRecord,
  ActivationState,
  type ActivationStatus,
  ActivationTrigger,
  type ActiveBinding,
  RollbackOutcome,
  type RollbackRecord,
} from '@caracal-deploy/contracts';
import type { z } from 'zod';

import type * as api from '../http/api.schemas.js';

// Coordinator and rollback-controller messages → the snake_case JSON the API
// returns (see the *View schemas in api.schemas.ts): enums as lowercase words,
// times as ISO 8601, "none" as null rather than "" or 0.

/** An enum member's name as the API spells it: `DEAD_LETTERED` → `dead_lettered`. */
function enumWord<E extends Record<number, string>>(values: E, value: number): string {
  return (values[value] ?? 'UNSPECIFIED').toLowerCase();
}

const isoOf = (millis: bigint): string => new Date(Number(millis)).toISOString();
const isoOrNull = (millis: bigint): string | null => (millis > 0n ? isoOf(millis) : null);
const textOrNull = (text: string): string | null => (text === '' ? null : text);

/** States after which a watch ends: the rollout will not move on its own. */
export const terminalStates: ReadonlySet<ActivationState> = new Set([
  ActivationState.CONVERGED,
  ActivationState.STALLED,
  ActivationState.DEAD_LETTERED,
  ActivationState.SUPERSEDED,
]);

/** The API word of an activation state. */
export function stateWord(state: ActivationState): z.output<typeof api.activationState> {
  return enumWord(ActivationState, state) as z.output<typeof api.activationState>;
}

/** The API word of an activation trigger. */
export function triggerWord(trigger: ActivationTrigger): z.output<typeof api.activationTrigger> {
  return enumWord(ActivationTrigger, trigger) as z.output<typeof api.activationTrigger>;
}

/** An activation as returned. */
export function activationView(activation: Activation): z.output<typeof api.activationView> {
  return {
    id: activation.activationId,
    zone: activation.zoneId,
    policy_set_id: activation.policySetId,
    policy_set_version_id: activation.policySetVersionId,
    manifest_sha256: activation.manifestSha256,
    bundle_sha256: activation.bundleSha256,
    previous_policy_set_version_id: textOrNull(activation.previousPolicySetVersionId),
    actor: activation.actor,
    reason: activation.reason,
    trigger: triggerWord(activation.trigger),
    idempotency_key: activation.idempotencyKey,
    created_at: isoOf(activation.createdAtUnixMillis),
  };
}

/**
 * An activation's status as returned; `activation` is required because the
 * coordinator always sets it (a status without one is a coordinator bug).
 */
export function activationStatusView(
  status: ActivationStatus,
): z.output<typeof api.activationStatusView> {
  if (status.activation === undefined) {
    throw new Error('the activation coordinator answered a status without its activation');
  }
  return {
    activation: activationView(status.activation),
    state: stateWord(status.state),
    terminal: terminalStates.has(status.state),
    outbox: {
      state: status.outbox?.state ?? '',
      attempts: status.outbox?.attempts ?? 0,
      last_error: status.outbox?.lastError ?? '',
      published_at: isoOrNull(status.outbox?.publishedAtUnixMillis ?? 0n),
    },
    live_replicas: status.liveReplicas,
    serving_replicas: status.servingReplicas,
    replicas: status.replicas.map((replica) => ({
      replica_id: replica.replicaId,
      region: replica.region,
      revision: replica.revision,
      confirmed_at: isoOrNull(replica.confirmedAtUnixMillis),
      serving: replica.serving,
      lag_ms: replica.serving ? Number(replica.lagMillis) : null,
    })),
    regions: status.regions.map((region) => ({
      region: region.region,
      live: region.live,
      serving: region.serving,
    })),
    laggards: [...status.laggards],
    propagation_ms:
      status.state === ActivationState.CONVERGED ? Number(status.propagationMillis) : null,
  };
}

/** One entry of a zone's activation history as returned. */
export function activationRecordView(
  record: ActivationRecord,
): z.output<typeof api.activationRecordView> {
  if (record.activation === undefined) {
    throw new Error('the activation coordinator answered a history entry without its activation');
  }
  return {
    activation: activationView(record.activation),
    state: stateWord(record.state),
    propagation_ms:
      record.state === ActivationState.CONVERGED ? Number(record.propagationMillis) : null,
  };
}

/** A zone's active binding as returned. */
export function activeBindingView(binding: ActiveBinding): z.output<typeof api.activeBindingView> {
  return {
    zone: binding.zoneId,
    policy_set_id: binding.policySetId,
    policy_set_version_id: binding.policySetVersionId,
    manifest_sha256: binding.manifestSha256,
    bundle_sha256: binding.bundleSha256,
    activation_id: binding.activationId,
    activated_at: isoOf(binding.activatedAtUnixMillis),
  };
}

/** A rollback record as returned. */
export function rollbackView(record: RollbackRecord): z.output<typeof api.rollbackView> {
  return {
    id: record.rollbackId,
    zone: record.zoneId,
    outcome: enumWord(RollbackOutcome, record.outcome) as z.output<
      typeof api.rollbackView
    >['outcome'],
    trigger: triggerWord(record.trigger),
    from_policy_set_version_id: textOrNull(record.fromPolicySetVersionId),
    to_policy_set_version_id: textOrNull(record.toPolicySetVersionId),
    activation_id: textOrNull(record.activationId),
    reason: record.reason,
    actor: record.actor,
    trigger_details: { ...record.triggerDetails },
    created_at: isoOf(record.createdAtUnixMillis),
  };
}
