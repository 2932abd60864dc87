import { randomUUID } from 'node:crypto';

import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type ActivateRequest,
  type ActivateResponseSchema,
  type ActivationSchema,
  ActivationState,
  type ActivationStatusSchema,
  ActivationTrigger,
  type WatchActivationResponseSchema,
} from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@caracal-deploy/errors';

import type { ActivationHandlers } from './activation-stand-in.js';

/** One recorded activation of the ledger (the fields the rollback-controller reads). */
export interface LedgerActivation {
  readonly activationId: string;
  readonly zoneId: string;
  readonly policySetVersionId: string;
  readonly previousPolicySetVersionId: string;
  readonly actor: string;
  readonly reason: string;
  readonly trigger: ActivationTrigger;
  readonly idempotencyKey: string;
  readonly createdAtUnixMillis: bigint;
}

const rollbackTriggers: ReadonlySet<ActivationTrigger> = new Set([
  ActivationTrigger.ROLLBACK_MANUAL,
  ActivationTrigger.ROLLBACK_ALERT,
  ActivationTrigger.ROLLBACK_VERDICT,
]);

function sha(versionId: string): string {
  return Buffer.from(versionId.padEnd(32, '0').slice(0, 32)).toString('hex');
}

function activationOf(record: LedgerActivation): MessageInitShape<typeof ActivationSchema> {
  return {
    activationId: record.activationId,
    zoneId: record.zoneId,
    policySetId: 'set-1',
    policySetVersionId: record.policySetVersionId,
    manifestSha256: sha(record.policySetVersionId),
    bundleSha256: sha(`bundle-${record.policySetVersionId}`),
    previousPolicySetVersionId: record.previousPolicySetVersionId,
    actor: record.actor,
    reason: record.reason,
    trigger: record.trigger,
    idempotencyKey: record.idempotencyKey,
    createdAtUnixMillis: record.createdAtUnixMillis,
  };
}

function bindingOf(record: LedgerActivation) {
  return {
    zoneId: record.zoneId,
    policySetId: 'set-1',
    policySetVersionId: record.policySetVersionId,
    manifestSha256: sha(record.policySetVersionId),
    bundleSha256: sha(`bundle-${record.policySetVersionId}`),
    activationId: record.activationId,
    activatedAtUnixMillis: record.createdAtUnixMillis,
  };
}

function statusOf(
  record: LedgerActivation,
  state: ActivationState,
): MessageInitShape<typeof ActivationStatusSchema> {
  const converged = state === ActivationState.CONVERGED;
  return {
    activation: activationOf(record),
    state,
    liveReplicas: 2,
    servingReplicas: converged ? 2 : 1,
    laggards: converged ? [] : ['sts-b'],
  };
}

/**
 * The coordinator with the contract's semantics, for an {@link ActivationStandIn}
 * to serve: compare-and-set on the zone's active version, idempotency keys, last
 * known good (the latest earlier version without a failed verdict), and a watch
 * that reports converging then converged. Tests seed zones and read what was activated.
 */
export class ActivationLedger {
  /** Every Activate request received, accepted or not. */
  readonly activateCalls: ActivateRequest[] = [];
  /** Versions with a failed verdict: never a last known good. */
  readonly failedVersions = new Set<string>();
  private readonly versions = new Map<string, Set<string>>();
  private readonly history = new Map<string, LedgerActivation[]>();
  private readonly byKey = new Map<string, LedgerActivation>();

  /** Every `ActivationService` method, served from this ledger. */
  readonly handlers: ActivationHandlers = {
    activate: (request) => this.activate(request),
    getActivation: (request) =>
      Promise.resolve({
        status: statusOf(this.find(request.activationId), ActivationState.CONVERGED),
      }),
    watchActivation: (request) => this.watch(request.activationId),
    listActivations: (request) =>
      Promise.resolve({
        activations: [...this.zone(request.zoneId)].reverse().map((record) => ({
          activation: activationOf(record),
          state: ActivationState.CONVERGED,
        })),
      }),
    getLastKnownGood: (request) => {
      const zone = this.zone(request.zoneId);
      const current = zone.at(-1);
      const good = [...zone]
        .reverse()
        .find(
          (record) =>
            record.policySetVersionId !== current?.policySetVersionId &&
            !this.failedVersions.has(record.policySetVersionId),
        );
      return Promise.resolve({
        ...(current === undefined ? {} : { current: bindingOf(current) }),
        ...(good === undefined ? {} : { lastKnownGood: activationOf(good) }),
      });
    },
    getActiveBinding: (request) => {
      const current = this.zone(request.zoneId).at(-1);
      return Promise.resolve(current === undefined ? {} : { binding: bindingOf(current) });
    },
  };

  /** Creates a zone whose validated versions are `versions`, activated in that order. */
  seedZone(zoneId: string, versions: readonly string[]): void {
    this.versions.set(zoneId, new Set(versions));
    this.history.set(zoneId, []);
    for (const version of versions) {
      this.record({
        zoneId,
        policySetVersionId: version,
        actor: 'seed',
        reason: 'seed',
        trigger: ActivationTrigger.MANUAL,
        idempotencyKey: `seed:${zoneId}:${version}`,
      });
    }
  }

  /** The zone's active version ('' when none). */
  activeVersion(zoneId: string): string {
    return this.history.get(zoneId)?.at(-1)?.policySetVersionId ?? '';
  }

  /** The zone's activations, oldest first. */
  activations(zoneId: string): readonly LedgerActivation[] {
    return this.history.get(zoneId) ?? [];
  }

  /** Activate with the contract's checks; tests call it too, to play an earlier attempt. */
  activate(request: ActivateRequest): Promise<MessageInitShape<typeof ActivateResponseSchema>> {
    this.activateCalls.push(request);
    const zone = this.zone(request.zoneId);
    if (request.expectedActiveVersionId === undefined) {
      throw new InvalidArgumentError('expected_active_version_id is required', {
        violations: [{ field: 'expected_active_version_id', problem: 'required' }],
      });
    }
    if (request.idempotencyKey === '') {
      throw new InvalidArgumentError('idempotency_key is required', {
        violations: [{ field: 'idempotency_key', problem: 'required' }],
      });
    }
    const earlier = this.byKey.get(request.idempotencyKey);
    if (earlier !== undefined) {
      return Promise.resolve({ activation: activationOf(earlier), replayed: true });
    }
    if (!this.versions.get(request.zoneId)?.has(request.policySetVersionId)) {
      throw new NotFoundError(`no version ${request.policySetVersionId} in zone ${request.zoneId}`);
    }
    const current = zone.at(-1)?.policySetVersionId ?? '';
    if (request.expectedActiveVersionId !== current) {
      throw new FailedPreconditionError(
        `zone ${request.zoneId} serves ${current || 'nothing'}, not ${request.expectedActiveVersionId || 'nothing'}`,
        { details: { current_version_id: current } },
      );
    }
    if (rollbackTriggers.has(request.trigger)) {
      // A version rolled back from is no longer good (the verdict lib will say so for real).
      this.failedVersions.add(current);
    }
    const record = this.record({
      zoneId: request.zoneId,
      policySetVersionId: request.policySetVersionId,
      actor: request.actor,
      reason: request.reason,
      trigger: request.trigger,
      idempotencyKey: request.idempotencyKey,
    });
    return Promise.resolve({ activation: activationOf(record), replayed: false });
  }

  private async *watch(
    activationId: string,
  ): AsyncIterable<MessageInitShape<typeof WatchActivationResponseSchema>> {
    const record = this.find(activationId);
    yield { status: statusOf(record, ActivationState.CONVERGING) };
    await Promise.resolve();
    yield { status: statusOf(record, ActivationState.CONVERGED) };
  }

  private zone(zoneId: string): LedgerActivation[] {
    const zone = this.history.get(zoneId);
    if (zone === undefined) throw new NotFoundError(`no zone ${zoneId}`);
    return zone;
  }

  private find(activationId: string): LedgerActivation {
    for (const zone of this.history.values()) {
      const record = zone.find((candidate) => candidate.activationId === activationId);
      if (record !== undefined) return record;
    }
    throw new NotFoundError(`no activation ${activationId}`);
  }

  private record(
    fields: Omit<
      LedgerActivation,
      'activationId' | 'previousPolicySetVersionId' | 'createdAtUnixMillis'
    >,
  ): LedgerActivation {
    const zone = this.zone(fields.zoneId);
    const record: LedgerActivation = {
      ...fields,
      activationId: randomUUID(),
      previousPolicySetVersionId: zone.at(-1)?.policySetVersionId ?? '',
      createdAtUnixMillis: BigInt(Date.now()),
    };
    zone.push(record);
    this.byKey.set(record.idempotencyKey, record);
    return record;
  }
}
