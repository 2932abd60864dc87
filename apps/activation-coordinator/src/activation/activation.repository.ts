import { randomUUID } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@caracal-deploy/errors';
import { invalidationFields } from '@caracal-deploy/redis';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';

import type {
  ActivationsTable,
  CoordinatorDatabase,
  ZoneBindingsTable,
} from '../database/coordinator.schema.js';

/** Injection token of the coordinator's Kysely instance. */
export const COORDINATOR_DB = Symbol('COORDINATOR_DB');

/** An activation row. */
export type ActivationRow = Selectable<ActivationsTable>;
/** A zone binding row. */
export type BindingRow = Selectable<ZoneBindingsTable>;

/** An activation with its outbox row. */
export interface ActivationWithOutbox extends ActivationRow {
  readonly outbox_attempts: number;
  readonly outbox_published_at: Date | null;
  readonly outbox_dead_at: Date | null;
  readonly outbox_last_error: string | null;
}

/** Why an activation happens, as stored. */
export type StoredTrigger =
  'manual' | 'deployment' | 'rollback_manual' | 'rollback_alert' | 'rollback_verdict';

/** A checked activation request. */
export interface ActivationCommand {
  readonly zoneId: string;
  readonly policySetVersionId: string;
  /** The version the caller believes is active; `''` for none. */
  readonly expectedActiveVersionId: string;
  readonly idempotencyKey: string;
  readonly reason: string;
  readonly actor: string;
  readonly trigger: StoredTrigger;
}

/** The registry facts an activation needs about one version. */
interface VersionFacts {
  readonly policySetId: string;
  readonly manifestSha256: string;
  readonly bundleSha256: string;
}

const isUniqueViolation = (error: unknown): boolean =>
  (error as { code?: unknown }).code === '23505';

/**
 * The coordinator's PostgreSQL access: compare-and-set activations that commit
 * the binding, the history row and the outbox row together, and the reads behind
 * status, history, last known good and the binding the STS asks for. Registry
 * tables (admin-api's) are only read.
 */
@Injectable()
export class ActivationRepository {
  constructor(@Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>) {}

  /**
   * Activates `command` or replays the activation its idempotency key already
   * made. Concurrent activations of one zone serialise on the zone's binding row;
   * the loser of a race for a zone's first binding (or for one idempotency key)
   * hits a unique violation and runs again, then sees the winner.
   */
  async activate(
    command: ActivationCommand,
  ): Promise<{ activation: ActivationRow; replayed: boolean }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.activateOnce(command);
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 3) throw error;
      }
    }
  }

  private async activateOnce(
    command: ActivationCommand,
  ): Promise<{ activation: ActivationRow; replayed: boolean }> {
    const earlier = await this.byIdempotencyKey(this.db, command.idempotencyKey);
    if (earlier) return { activation: replay(earlier, command), replayed: true };
    const facts = await this.versionFacts(command.zoneId, command.policySetVersionId);
    return this.db.transaction().execute(async (tx) => {
      const current = await tx
        .selectFrom('zone_bindings')
        .selectAll()
        .where('zone_id', '=', command.zoneId)
        .forUpdate()
        .executeTakeFirst();
      // A concurrent request with the same key may have committed while we waited for the lock.
      const raced = await this.byIdempotencyKey(tx, command.idempotencyKey);
      if (raced) return { activation: replay(raced, command), replayed: true };
      const currentVersion = current?.policy_set_version_id ?? '';
      if (currentVersion !== command.expectedActiveVersionId) {
        throw new FailedPreconditionError(
          `zone "${command.zoneId}" has ${currentVersion ? `active version ${currentVersion}` : 'no active version'}, not the expected ${command.expectedActiveVersionId ? `version ${command.expectedActiveVersionId}` : 'none'}; re-read it and retry`,
          {
            violations: [
              {
                field: 'expected_active_version_id',
                problem: `expected the current version "${currentVersion}", got "${command.expectedActiveVersionId}"`,
              },
            ],
            details: { current_active_version_id: currentVersion },
          },
        );
      }
      const id = randomUUID();
      const outbox = await tx
        .insertInto('invalidation_outbox')
        .values({
          zone_id: command.zoneId,
          fields: JSON.stringify(
            invalidationFields({
              zoneId: command.zoneId,
              policySetId: facts.policySetId,
              policySetVersionId: command.policySetVersionId,
              manifestSha256: facts.manifestSha256,
              activationId: id,
            }),
          ),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Whatever was still rolling out in this zone is replaced by this activation.
      await tx
        .updateTable('activations')
        .set({ outcome: 'superseded', finished_at: sql<Date>`clock_timestamp()` })
        .where('zone_id', '=', command.zoneId)
        .where('outcome', 'is', null)
        .execute();
      const activation = await tx
        .insertInto('activations')
        .values({
          id,
          zone_id: command.zoneId,
          policy_set_id: facts.policySetId,
          policy_set_version_id: command.policySetVersionId,
          manifest_sha256: facts.manifestSha256,
          bundle_sha256: facts.bundleSha256,
          previous_policy_set_version_id: current?.policy_set_version_id ?? null,
          actor: command.actor,
          reason: command.reason,
          trigger: command.trigger,
          idempotency_key: command.idempotencyKey,
          outbox_id: String(outbox.id),
          outcome: null,
          propagation_ms: null,
          finished_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const binding = {
        policy_set_id: facts.policySetId,
        policy_set_version_id: command.policySetVersionId,
        manifest_sha256: facts.manifestSha256,
        bundle_sha256: facts.bundleSha256,
        activation_id: id,
        activated_at: activation.created_at,
      };
      if (current) {
        await tx
          .updateTable('zone_bindings')
          .set(binding)
          .where('zone_id', '=', command.zoneId)
          .execute();
      } else {
        await tx
          .insertInto('zone_bindings')
          .values({ zone_id: command.zoneId, ...binding })
          .execute();
      }
      return { activation, replayed: false };
    });
  }

  /** Registry facts of a version: it must exist in the zone, be validated, and have a bundle. */
  private async versionFacts(zoneId: string, versionId: string): Promise<VersionFacts> {
    await this.requireZone(zoneId);
    const version = await this.db
      .selectFrom('policy_set_versions as v')
      .innerJoin('policy_sets as s', 's.id', 'v.policy_set_id')
      .innerJoin('zones as z', 'z.id', 's.zone_id')
      .select(['v.id', 'v.policy_set_id', 'v.manifest_sha256', 'z.name as zone_name'])
      .where('v.id', '=', versionId)
      .executeTakeFirst();
    if (!version) throw new NotFoundError(`policy-set version ${versionId} does not exist`);
    if (version.zone_name !== zoneId) {
      throw new InvalidArgumentError(
        `policy-set version ${versionId} belongs to zone "${version.zone_name}", not "${zoneId}"`,
        {
          violations: [
            {
              field: 'policy_set_version_id',
              problem: `expected a version of zone "${zoneId}", got one of zone "${version.zone_name}"`,
            },
          ],
        },
      );
    }
    const verdict = await this.db
      .selectFrom('verdicts')
      .select(['valid'])
      .where('policy_set_version_id', '=', versionId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!verdict) {
      throw new FailedPreconditionError(
        `policy-set version ${versionId} has not been validated; validate it before activating`,
        { details: { policy_set_version_id: versionId } },
      );
    }
    if (!verdict.valid) {
      throw new FailedPreconditionError(
        `policy-set version ${versionId} failed its latest validation; only validated versions can be activated`,
        { details: { policy_set_version_id: versionId } },
      );
    }
    const bundle = await this.db
      .selectFrom('bundles')
      .select(['sha256'])
      .where('policy_set_version_id', '=', versionId)
      .executeTakeFirst();
    if (!bundle) {
      throw new FailedPreconditionError(
        `policy-set version ${versionId} has no built bundle; replicas would have nothing to load`,
        { details: { policy_set_version_id: versionId } },
      );
    }
    return {
      policySetId: version.policy_set_id,
      manifestSha256: version.manifest_sha256,
      bundleSha256: bundle.sha256,
    };
  }

  /** Throws {@link NotFoundError} unless the registry has a zone named `zoneId`. */
  async requireZone(zoneId: string): Promise<void> {
    const zone = await this.db
      .selectFrom('zones')
      .select('id')
      .where('name', '=', zoneId)
      .executeTakeFirst();
    if (!zone) throw new NotFoundError(`zone "${zoneId}" does not exist`);
  }

  private byIdempotencyKey(
    db: Kysely<CoordinatorDatabase> | Transaction<CoordinatorDatabase>,
    key: string,
  ): Promise<ActivationRow | undefined> {
    return db
      .selectFrom('activations')
      .selectAll()
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  /** An activation with its outbox row. */
  async get(activationId: string): Promise<ActivationWithOutbox | undefined> {
    return this.db
      .selectFrom('activations as a')
      .innerJoin('invalidation_outbox as o', 'o.id', 'a.outbox_id')
      .selectAll('a')
      .select([
        'o.attempts as outbox_attempts',
        'o.published_at as outbox_published_at',
        'o.dead_at as outbox_dead_at',
        'o.last_error as outbox_last_error',
      ])
      .where('a.id', '=', activationId)
      .executeTakeFirst();
  }

  /** The zone's current binding, if it has one. */
  async binding(zoneId: string): Promise<BindingRow | undefined> {
    return this.db
      .selectFrom('zone_bindings')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .executeTakeFirst();
  }

  /** A page of the zone's history, newest first, starting below `beforeSeq` when given. */
  async history(
    zoneId: string,
    limit: number,
    beforeSeq: string | undefined,
  ): Promise<ActivationWithOutbox[]> {
    let query = this.db
      .selectFrom('activations as a')
      .innerJoin('invalidation_outbox as o', 'o.id', 'a.outbox_id')
      .selectAll('a')
      .select([
        'o.attempts as outbox_attempts',
        'o.published_at as outbox_published_at',
        'o.dead_at as outbox_dead_at',
        'o.last_error as outbox_last_error',
      ])
      .where('a.zone_id', '=', zoneId);
    if (beforeSeq !== undefined) query = query.where('a.seq', '<', beforeSeq);
    return query.orderBy('a.seq', 'desc').limit(limit).execute();
  }

  /**
   * Versions a rollback moved the zone away from (by hand, on an alert or on a
   * failed verdict): never a rollback target again, whatever else they passed.
   */
  async rolledBackVersions(zoneId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('activations')
      .select('previous_policy_set_version_id')
      .distinct()
      .where('zone_id', '=', zoneId)
      .where('trigger', 'in', ['rollback_manual', 'rollback_alert', 'rollback_verdict'])
      .where('previous_policy_set_version_id', 'is not', null)
      .execute();
    return rows.flatMap((row) =>
      row.previous_policy_set_version_id ? [row.previous_policy_set_version_id] : [],
    );
  }

  /**
   * The most recent activation of the zone that made a version other than
   * `currentVersionId` active, skipping versions `excluded` names (those with a
   * failed verdict) and, when `among` is given, versions it does not name.
   */
  async lastActivatedOtherThan(
    zoneId: string,
    currentVersionId: string,
    excluded: readonly string[],
    among?: readonly string[],
  ): Promise<ActivationRow | undefined> {
    let query = this.db.selectFrom('activations').selectAll().where('zone_id', '=', zoneId);
    if (currentVersionId) query = query.where('policy_set_version_id', '!=', currentVersionId);
    if (excluded.length > 0) query = query.where('policy_set_version_id', 'not in', excluded);
    if (among !== undefined) {
      if (among.length === 0) return undefined;
      query = query.where('policy_set_version_id', 'in', among);
    }
    return query.orderBy('seq', 'desc').limit(1).executeTakeFirst();
  }

  /**
   * Ids of activations whose rollout has not ended, oldest first. A later
   * activation of a zone supersedes the open one in its transaction, so there is
   * at most one per zone.
   */
  async openActivationIds(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('activations')
      .select('id')
      .where('outcome', 'is', null)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Records that an open activation converged; true only for the one call that
   * closed it (so the propagation metric is observed once, whichever coordinator
   * replica or request saw it first).
   */
  async recordConverged(activationId: string, propagationMs: number): Promise<boolean> {
    const closed = await this.db
      .updateTable('activations')
      .set({
        outcome: 'converged',
        propagation_ms: Math.round(propagationMs),
        finished_at: sql<Date>`clock_timestamp()`,
      })
      .where('id', '=', activationId)
      .where('outcome', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return closed !== undefined;
  }
}

function replay(earlier: ActivationRow, command: ActivationCommand): ActivationRow {
  if (
    earlier.zone_id !== command.zoneId ||
    earlier.policy_set_version_id !== command.policySetVersionId
  ) {
    throw new InvalidArgumentError(
      `idempotency key "${command.idempotencyKey}" already made activation ${earlier.id} of version ${earlier.policy_set_version_id} in zone "${earlier.zone_id}"; use a new key for a different activation`,
      {
        violations: [
          {
            field: 'idempotency_key',
            problem: `already used for zone "${earlier.zone_id}" version ${earlier.policy_set_version_id}`,
          },
        ],
      },
    );
  }
  return earlier;
}
