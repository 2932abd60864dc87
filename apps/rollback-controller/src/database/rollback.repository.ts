import { Inject, Injectable } from '@nestjs/common';
import { AbortedError } from '@caracal-deploy/errors';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';

import type { RollbackDatabase, RollbacksTable } from './rollback.schema.js';

/** Injection token of the rollback database (a Kysely instance). */
export const ROLLBACK_DB = Symbol('ROLLBACK_DB');

/** A stored rollback record. */
export type RollbackRow = Selectable<RollbacksTable>;

/** The fields of a new rollback record. */
export type NewRollback = Omit<RollbackRow, 'id' | 'seq' | 'created_at'>;

type Executor = Kysely<RollbackDatabase> | Transaction<RollbackDatabase>;

/**
 * Reads and writes one zone's records while holding that zone's lock; handed
 * to the work of {@link RollbackRepository.withZoneLock}.
 */
export class LockedZone {
  constructor(
    private readonly db: Executor,
    readonly zoneId: string,
  ) {}

  /** The record made with `idempotencyKey`, if any. */
  async byIdempotencyKey(idempotencyKey: string): Promise<RollbackRow | undefined> {
    return this.db
      .selectFrom('rollbacks')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
  }

  /** The zone's latest effective rollback made less than `windowMs` ago (database clock). */
  async rolledBackWithin(windowMs: number): Promise<RollbackRow | undefined> {
    return this.db
      .selectFrom('rollbacks')
      .selectAll()
      .where('zone_id', '=', this.zoneId)
      .where('outcome', '=', 'rolled_back')
      .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Records a rollback of this zone. The zone lock cannot serialize one key
   * used for two zones at once; the unique key then refuses the second with
   * ABORTED (a retry finds the first record).
   */
  async insert(record: Omit<NewRollback, 'zone_id'>): Promise<RollbackRow> {
    try {
      return await this.db
        .insertInto('rollbacks')
        .values({
          ...record,
          zone_id: this.zoneId,
          trigger_details: JSON.stringify(record.trigger_details),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      if ((error as { code?: unknown }).code === '23505') {
        throw new AbortedError('the idempotency key was used by a concurrent rollback; retry', {
          cause: error,
          violations: [{ field: 'idempotency_key', problem: 'used concurrently' }],
        });
      }
      throw error;
    }
  }
}

/** The rollback record in PostgreSQL. */
@Injectable()
export class RollbackRepository {
  constructor(@Inject(ROLLBACK_DB) private readonly db: Kysely<RollbackDatabase>) {}

  /**
   * Runs `work` in one transaction holding the zone's advisory lock, so
   * rollbacks of one zone are judged one at a time across every replica of the
   * controller: a duplicate delivery waits for the first and then finds its
   * record, and the cooldown sees the rollback that just happened.
   */
  async withZoneLock<T>(zoneId: string, work: (zone: LockedZone) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`caracal.rollback:${zoneId}`}, 0))`.execute(
        trx,
      );
      return work(new LockedZone(trx, zoneId));
    });
  }

  /** Records newest first, optionally of one zone, after the row with `beforeSeq`. */
  async list(options: {
    zoneId: string | undefined;
    beforeSeq: string | undefined;
    limit: number;
  }): Promise<RollbackRow[]> {
    let query = this.db.selectFrom('rollbacks').selectAll();
    if (options.zoneId !== undefined) query = query.where('zone_id', '=', options.zoneId);
    if (options.beforeSeq !== undefined) query = query.where('seq', '<', options.beforeSeq);
    return query.orderBy('seq', 'desc').limit(options.limit).execute();
  }
}
