import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type ActivationStatus, ActivationTrigger } from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  type FieldViolation,
} from '@caracal-deploy/errors';

import { ROLLBACK_CONFIG, type RollbackConfig } from '../config/rollback.config.js';
import { CoordinatorClient } from '../coordinator/coordinator.client.js';
import {
  RollbackRepository,
  type LockedZone,
  type RollbackRow,
} from '../database/rollback.repository.js';
import type { StoredTrigger } from '../database/rollback.schema.js';
import { RollbackMetrics } from './rollback-metrics.js';
import { rollbackTriggers } from './rollback-record.js';

/** Longest zone id, reason, actor, key or detail value accepted. */
const maxTextLength = 1000;

/** What a rollback is asked to do, from gRPC, a webhook or a verdict. */
export interface RollbackInput {
  readonly zoneId: string;
  readonly reason: string;
  readonly actor: string;
  /** Only roll back while this policy-set version is the zone's active one. */
  readonly expectedActiveVersionId?: string | undefined;
  /** Only roll back while this activation made the zone's active binding. */
  readonly expectedActivationId?: string | undefined;
  /** Empty: a new key is generated (the request cannot be retried idempotently). */
  readonly idempotencyKey: string;
  readonly waitForConvergence: boolean;
  /** One of the rollback triggers; UNSPECIFIED reads as a manual rollback. */
  readonly trigger: ActivationTrigger;
  /** Facts about what caused the rollback (alert name, fingerprint, …), recorded with it. */
  readonly triggerDetails?: Readonly<Record<string, string>>;
}

/** The record of a rollback request and, when it activated something, the activation's status. */
export interface RollbackResult {
  readonly record: RollbackRow;
  /** True when the idempotency key had been used before and this is that first record. */
  readonly replayed: boolean;
  readonly status: ActivationStatus | undefined;
}

/** The coordinator idempotency key of the activation a rollback request makes. */
function activationKeyOf(idempotencyKey: string): string {
  return `rollback:${idempotencyKey}`;
}

function checkText(
  violations: FieldViolation[],
  field: string,
  value: string,
  required: boolean,
): void {
  if (required && value.trim() === '') violations.push({ field, problem: 'required' });
  else if (value.length > maxTextLength)
    violations.push({ field, problem: `at most ${maxTextLength} characters, got ${value.length}` });
}

/** The stored trigger of `input`, or the violations that make it invalid. */
function validate(input: RollbackInput): StoredTrigger {
  const violations: FieldViolation[] = [];
  checkText(violations, 'zone_id', input.zoneId, true);
  checkText(violations, 'reason', input.reason, true);
  checkText(violations, 'actor', input.actor, true);
  checkText(violations, 'idempotency_key', input.idempotencyKey, false);
  if (input.expectedActiveVersionId !== undefined)
    checkText(violations, 'expected_active_version_id', input.expectedActiveVersionId, false);
  const trigger =
    input.trigger === ActivationTrigger.UNSPECIFIED
      ? 'rollback_manual'
      : rollbackTriggers.get(input.trigger);
  if (trigger === undefined) {
    violations.push({
      field: 'trigger',
      problem: `expected ACTIVATION_TRIGGER_ROLLBACK_MANUAL, _ROLLBACK_ALERT or _ROLLBACK_VERDICT, got ${ActivationTrigger[input.trigger] ?? input.trigger}`,
    });
  }
  if (violations.length > 0 || trigger === undefined) {
    const [first] = violations;
    throw new InvalidArgumentError(`invalid rollback request: ${first?.field}: ${first?.problem}`, {
      violations,
    });
  }
  return trigger;
}

/**
 * Rolls a zone back to its last known good version through the activation
 * coordinator's compare-and-set path. It needs nothing but the coordinator and
 * its own database, so it works while the validator or STS replicas are down.
 *
 * Every request is judged under the zone's lock, in this order: a known
 * idempotency key returns its first record; a zone no longer serving the
 * version (or activation) the request is about is skipped; an alert-triggered
 * rollback within the cooldown of the zone's last one is skipped (alerts flap;
 * a deployment's verdict rollback names the version that failed and must never
 * leave a zone on it); otherwise the
 * last known good version is activated. Rollbacks and skips are recorded; an
 * error records nothing, so the caller can retry.
 */
@Injectable()
export class RollbackRunner {
  private readonly logger = new Logger('Rollback');

  constructor(
    @Inject(ROLLBACK_CONFIG) private readonly config: RollbackConfig,
    private readonly repository: RollbackRepository,
    private readonly coordinator: CoordinatorClient,
    private readonly metrics: RollbackMetrics,
  ) {}

  /** Judges and, when due, performs one rollback. */
  async rollback(input: RollbackInput, signal?: AbortSignal): Promise<RollbackResult> {
    const trigger = validate(input);
    const idempotencyKey = input.idempotencyKey === '' ? randomUUID() : input.idempotencyKey;
    const { record, replayed } = await this.repository.withZoneLock(input.zoneId, (zone) =>
      this.judge(zone, input, trigger, idempotencyKey),
    );
    if (!replayed && record.outcome === 'rolled_back') {
      this.metrics.rolledBack(record.trigger);
      this.logger.log(
        `rolled back zone ${record.zone_id} from ${record.from_version_id} to ${record.to_version_id} ` +
          `(activation ${record.activation_id}, ${record.trigger}, by ${record.actor}: ${record.reason})`,
      );
    }
    return { record, replayed, status: await this.statusOf(record, input, signal) };
  }

  private async judge(
    zone: LockedZone,
    input: RollbackInput,
    trigger: StoredTrigger,
    idempotencyKey: string,
  ): Promise<{ record: RollbackRow; replayed: boolean }> {
    const earlier = await zone.byIdempotencyKey(idempotencyKey);
    if (earlier !== undefined) {
      if (earlier.zone_id !== input.zoneId) {
        throw new InvalidArgumentError(
          `idempotency key was used for a rollback of another zone (${earlier.zone_id})`,
          { violations: [{ field: 'idempotency_key', problem: 'already used for another zone' }] },
        );
      }
      return { record: earlier, replayed: true };
    }

    const { current, lastKnownGood } = await this.coordinator.lastKnownGood(input.zoneId);
    const activeVersion = current?.policySetVersionId ?? '';
    const base = {
      idempotency_key: idempotencyKey,
      trigger,
      from_version_id: activeVersion,
      reason: input.reason,
      actor: input.actor,
      trigger_details: { ...input.triggerDetails },
    };
    const skip = async (
      outcome: 'skipped_not_active' | 'skipped_cooldown',
      why: Record<string, string>,
    ) => ({
      record: await zone.insert({
        ...base,
        outcome,
        to_version_id: '',
        activation_id: '',
        trigger_details: { ...base.trigger_details, ...why },
      }),
      replayed: false,
    });

    // Our own activation key on the active binding means an earlier attempt of
    // this very request activated and its record was lost (e.g. the commit
    // failed after Activate): record that rollback instead of stepping back again.
    const ownKey = activationKeyOf(idempotencyKey);
    const made =
      current === undefined || current.activationId === ''
        ? undefined
        : (await this.coordinator.status(current.activationId))?.activation;
    if (made !== undefined && made.idempotencyKey === ownKey) {
      return {
        record: await zone.insert({
          ...base,
          outcome: 'rolled_back',
          from_version_id: made.previousPolicySetVersionId,
          to_version_id: made.policySetVersionId,
          activation_id: made.activationId,
        }),
        replayed: false,
      };
    }

    if (
      input.expectedActiveVersionId !== undefined &&
      input.expectedActiveVersionId !== activeVersion
    ) {
      return skip('skipped_not_active', { skipped_because: 'active version differs' });
    }
    if (
      input.expectedActivationId !== undefined &&
      input.expectedActivationId !== (current?.activationId ?? '')
    ) {
      return skip('skipped_not_active', { skipped_because: 'active activation differs' });
    }
    if (trigger === 'rollback_alert' && this.config.cooldownMs > 0) {
      const recent = await zone.rolledBackWithin(this.config.cooldownMs);
      if (recent !== undefined) {
        return skip('skipped_cooldown', { cooldown_after_rollback_id: recent.id });
      }
    }
    if (current === undefined) {
      throw new FailedPreconditionError(`zone ${input.zoneId} has no active version to roll back`, {
        details: { zone_id: input.zoneId },
      });
    }
    if (lastKnownGood === undefined) {
      throw new FailedPreconditionError(
        `zone ${input.zoneId} has no known good version to roll back to (active: ${activeVersion})`,
        { details: { zone_id: input.zoneId, active_version_id: activeVersion } },
      );
    }

    const { activation } = await this.coordinator.activate({
      zoneId: input.zoneId,
      policySetVersionId: lastKnownGood.policySetVersionId,
      expectedActiveVersionId: activeVersion,
      // Derived from ours, so a retry after a lost answer gets the same activation back.
      idempotencyKey: ownKey,
      reason: input.reason,
      actor: input.actor,
      trigger:
        input.trigger === ActivationTrigger.UNSPECIFIED
          ? ActivationTrigger.ROLLBACK_MANUAL
          : input.trigger,
    });
    return {
      record: await zone.insert({
        ...base,
        outcome: 'rolled_back',
        to_version_id: activation?.policySetVersionId ?? lastKnownGood.policySetVersionId,
        activation_id: activation?.activationId ?? '',
      }),
      replayed: false,
    };
  }

  /**
   * The activation's status: followed to a final state when the caller waits,
   * else read once. Reading is best effort — the rollback has happened and is
   * recorded whether or not the status can be fetched now.
   */
  private async statusOf(
    record: RollbackRow,
    input: RollbackInput,
    signal: AbortSignal | undefined,
  ): Promise<ActivationStatus | undefined> {
    if (record.activation_id === '') return undefined;
    if (input.waitForConvergence) {
      return this.coordinator.waitForFinalState(
        record.activation_id,
        this.config.convergenceTimeoutMs,
        signal,
      );
    }
    try {
      return await this.coordinator.status(record.activation_id);
    } catch (error) {
      this.logger.warn(
        `status of activation ${record.activation_id} unavailable: ${(error as Error).message}`,
      );
      return undefined;
    }
  }
}
