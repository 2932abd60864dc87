import { ActivationState } from '@caracal-deploy/contracts';
import { NotFoundError } from '@caracal-deploy/errors';

import type { ActivationHandlers } from './activation-stand-in.js';

/** One live STS replica of a canned activation. */
export interface CannedReplica {
  readonly replicaId: string;
  readonly region: string;
  readonly revision: string;
  /** How long before each GetActivation the replica last confirmed; undefined: never. */
  readonly confirmedAgoMs: number | undefined;
}

/** What GetActivation answers for one activation. */
export interface CannedActivation {
  readonly activationId: string;
  readonly zoneId: string;
  readonly policySetVersionId: string;
  readonly revision: string;
  state: ActivationState;
  replicas: CannedReplica[];
}

/**
 * Activation statuses a test sets, for an {@link ActivationStandIn} to serve:
 * GetActivation answers them (state and per-replica revision and confirmation),
 * and GetActiveBinding answers the latest canned activation of a zone. The
 * verification-aggregator reads nothing else.
 */
export class CannedActivations {
  private readonly activations = new Map<string, CannedActivation>();

  /** GetActivation and GetActiveBinding, served from the canned activations. */
  readonly handlers: ActivationHandlers = {
    getActivation: (request) => {
      const canned = this.activations.get(request.activationId);
      if (!canned) throw new NotFoundError(`no activation ${request.activationId}`);
      const now = Date.now();
      const serving = canned.replicas.filter((r) => r.revision === canned.revision);
      return Promise.resolve({
        status: {
          activation: {
            activationId: canned.activationId,
            zoneId: canned.zoneId,
            policySetId: 'set-1',
            policySetVersionId: canned.policySetVersionId,
            manifestSha256: canned.revision,
            createdAtUnixMillis: BigInt(now),
          },
          state: canned.state,
          replicas: canned.replicas.map((r) => ({
            replicaId: r.replicaId,
            region: r.region,
            revision: r.revision,
            confirmedAtUnixMillis: BigInt(
              r.confirmedAgoMs === undefined ? 0 : now - r.confirmedAgoMs,
            ),
            serving: r.revision === canned.revision,
          })),
          liveReplicas: canned.replicas.length,
          servingReplicas: serving.length,
          laggards: canned.replicas
            .filter((r) => r.revision !== canned.revision)
            .map((r) => r.replicaId),
        },
      });
    },
    getActiveBinding: (request) => {
      const latest = [...this.activations.values()]
        .filter((activation) => activation.zoneId === request.zoneId)
        .at(-1);
      return Promise.resolve(
        latest === undefined
          ? {}
          : {
              binding: {
                zoneId: latest.zoneId,
                policySetId: 'set-1',
                policySetVersionId: latest.policySetVersionId,
                manifestSha256: latest.revision,
                activationId: latest.activationId,
              },
            },
      );
    },
  };

  /** Sets (or replaces) what GetActivation answers for `activation.activationId`. */
  set(activation: CannedActivation): CannedActivation {
    this.activations.set(activation.activationId, activation);
    return activation;
  }
}

/** A converged activation whose two replicas per region serve `revision` and confirmed it a second ago. */
export function convergedActivation(fields: {
  activationId: string;
  zoneId: string;
  policySetVersionId: string;
  revision: string;
  regions?: readonly string[];
}): CannedActivation {
  const regions = fields.regions ?? ['eu'];
  return {
    activationId: fields.activationId,
    zoneId: fields.zoneId,
    policySetVersionId: fields.policySetVersionId,
    revision: fields.revision,
    state: ActivationState.CONVERGED,
    replicas: regions.flatMap((region) =>
      ['a', 'b'].map((suffix) => ({
        replicaId: `sts-${region}-${suffix}`,
        region,
        revision: fields.revision,
        confirmedAgoMs: 1_000,
      })),
    ),
  };
}
