import type { MessageInitShape } from '@bufbuild/protobuf';
import { convergence } from '@caracal-deploy/activation';
import {
  ActivationState,
  ActivationTrigger,
  type ActivationSchema,
  type ActivationStatusSchema,
} from '@caracal-deploy/contracts';
import type { ReplicaStatus } from '@caracal-deploy/redis';

import type {
  ActivationRow,
  ActivationWithOutbox,
  StoredTrigger,
} from './activation.repository.js';

/** Stored trigger names by wire enum. */
const storedTriggers: ReadonlyMap<ActivationTrigger, StoredTrigger> = new Map([
  [ActivationTrigger.MANUAL, 'manual'],
  [ActivationTrigger.DEPLOYMENT, 'deployment'],
  [ActivationTrigger.ROLLBACK_MANUAL, 'rollback_manual'],
  [ActivationTrigger.ROLLBACK_ALERT, 'rollback_alert'],
  [ActivationTrigger.ROLLBACK_VERDICT, 'rollback_verdict'],
]);

/** The stored name of a trigger; unspecified means an operator asked (manual). */
export function storedTrigger(trigger: ActivationTrigger): StoredTrigger | undefined {
  return trigger === ActivationTrigger.UNSPECIFIED ? 'manual' : storedTriggers.get(trigger);
}

/** The wire enum of a stored trigger. */
export function wireTrigger(stored: string): ActivationTrigger {
  for (const [wire, name] of storedTriggers) if (name === stored) return wire;
  return ActivationTrigger.UNSPECIFIED;
}

/** An activation row as the `Activation` message. */
export function activationMessage(row: ActivationRow): MessageInitShape<typeof ActivationSchema> {
  return {
    activationId: row.id,
    zoneId: row.zone_id,
    policySetId: row.policy_set_id,
    policySetVersionId: row.policy_set_version_id,
    manifestSha256: row.manifest_sha256,
    bundleSha256: row.bundle_sha256,
    previousPolicySetVersionId: row.previous_policy_set_version_id ?? '',
    actor: row.actor,
    reason: row.reason,
    trigger: wireTrigger(row.trigger),
    idempotencyKey: row.idempotency_key,
    createdAtUnixMillis: BigInt(row.created_at.getTime()),
  };
}

/** Thresholds of the convergence judgement. */
export interface JudgementOptions {
  /** Replicas silent for longer are not live. */
  readonly replicaLiveMs: number;
  /** After this long without converging, an activation is stalled. */
  readonly stallAfterMs: number;
}

/** An activation judged at one moment. */
export interface JudgedActivation {
  readonly status: MessageInitShape<typeof ActivationStatusSchema>;
  readonly state: ActivationState;
  /** Commit → last live replica confirmed, when converged. */
  readonly propagationMs: number | null;
  /** Converged, stalled, dead-lettered or superseded: a watch ends here. */
  readonly terminal: boolean;
  /** Converged now, but not yet recorded as such. */
  readonly newlyConverged: boolean;
}

const terminalStates: ReadonlySet<ActivationState> = new Set([
  ActivationState.CONVERGED,
  ActivationState.STALLED,
  ActivationState.DEAD_LETTERED,
  ActivationState.SUPERSEDED,
]);

/**
 * Judges an activation from its row (outbox state, recorded outcome) and the
 * replicas' status reports (`null` when Redis could not be read: the state then
 * comes from the outbox alone and is never declared stalled on missing data).
 * A recorded outcome wins; otherwise every live replica serving the revision
 * converges it, a dead-lettered outbox row ends it, and time stalls it.
 */
export function judgeActivation(
  row: ActivationWithOutbox,
  replicas: readonly ReplicaStatus[] | null,
  now: Date,
  options: JudgementOptions,
): JudgedActivation {
  const fleet =
    replicas === null
      ? null
      : convergence(
          replicas.map((replica) => ({
            replicaId: replica.replicaId,
            region: replica.region,
            revision: replica.revision,
            confirmedAt: replica.confirmedAt,
            reportedAt: replica.reportedAt,
          })),
          {
            target: row.manifest_sha256,
            committedAt: row.created_at,
            now,
            liveWithinMs: options.replicaLiveMs,
            stallAfterMs: options.stallAfterMs,
          },
        );
  let state: ActivationState;
  let propagationMs: number | null = null;
  let newlyConverged = false;
  if (row.outcome === 'converged') {
    state = ActivationState.CONVERGED;
    propagationMs = row.propagation_ms;
  } else if (row.outcome === 'superseded') {
    state = ActivationState.SUPERSEDED;
  } else if (fleet?.state === 'converged') {
    state = ActivationState.CONVERGED;
    propagationMs = fleet.propagationMs;
    newlyConverged = true;
  } else if (row.outbox_dead_at) {
    state = ActivationState.DEAD_LETTERED;
  } else if (fleet?.state === 'stalled') {
    state = ActivationState.STALLED;
  } else if (!row.outbox_published_at) {
    state = ActivationState.DISPATCHING;
  } else {
    state = ActivationState.CONVERGING;
  }
  const status: MessageInitShape<typeof ActivationStatusSchema> = {
    activation: activationMessage(row),
    state,
    outbox: {
      state: row.outbox_dead_at ? 'dead' : row.outbox_published_at ? 'published' : 'pending',
      attempts: row.outbox_attempts,
      lastError: row.outbox_last_error ?? '',
      publishedAtUnixMillis: BigInt(row.outbox_published_at?.getTime() ?? 0),
    },
    replicas: (fleet?.replicas ?? []).map((replica) => ({
      replicaId: replica.replicaId,
      region: replica.region,
      revision: replica.revision ?? '',
      confirmedAtUnixMillis: BigInt(replica.confirmedAt?.getTime() ?? 0),
      serving: replica.serving,
      lagMillis: BigInt(replica.lagMs ?? 0),
    })),
    regions: Object.entries(fleet?.regions ?? {}).map(([region, counts]) => ({
      region,
      live: counts.live,
      serving: counts.serving,
    })),
    liveReplicas: fleet?.live ?? 0,
    servingReplicas: fleet?.serving ?? 0,
    laggards: [...(fleet?.laggards ?? [])],
    propagationMillis: BigInt(Math.round(propagationMs ?? 0)),
  };
  return { status, state, propagationMs, terminal: terminalStates.has(state), newlyConverged };
}
