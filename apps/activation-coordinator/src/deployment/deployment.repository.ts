import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely } from 'kysely';

import { COORDINATOR_DB } from '../activation/activation.repository.js';
import type { VerificationVerdicts } from '../activation/last-known-good.js';
import type { CoordinatorDatabase } from '../database/coordinator.schema.js';
import {
  isTerminal,
  type DeploymentDocument,
  type DeploymentEventRecord,
  type Transition,
} from './deployment-model.js';

/** A stored deployment: its document and list position. */
export interface StoredDeployment {
  readonly seq: string;
  readonly document: DeploymentDocument;
}

/** A recorded event of a deployment. */
export interface StoredEvent extends DeploymentEventRecord {
  readonly seq: string;
  readonly deploymentId: string;
  readonly at: Date;
}

const isUniqueViolation = (error: unknown): boolean =>
  (error as { code?: unknown }).code === '23505';

const zonesOf = (document: DeploymentDocument): string[] =>
  document.stages.flatMap((stage) => stage.zones.map((zone) => zone.zoneId));

/**
 * The deployments' PostgreSQL access. A document changes only through
 * {@link DeploymentRepository.transition}, which locks its row, so the runner
 * and operators' requests (pause, abort) never overwrite each other; every
 * change commits with its events and stage verdicts.
 */
@Injectable()
export class DeploymentRepository implements VerificationVerdicts {
  constructor(@Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>) {}

  /** The deployment made with `key`, with the hash of the request that made it. */
  async byIdempotencyKey(
    key: string,
  ): Promise<{ deployment: StoredDeployment; requestSha256: string } | undefined> {
    const row = await this.db
      .selectFrom('deployments')
      .select(['seq', 'document', 'request_sha256'])
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row
      ? {
          deployment: { seq: row.seq, document: row.document as DeploymentDocument },
          requestSha256: row.request_sha256,
        }
      : undefined;
  }

  /**
   * Records a new deployment with its first events; `undefined` when a
   * concurrent request with the same idempotency key committed first.
   */
  async create(
    document: DeploymentDocument,
    requestSha256: string,
    events: readonly DeploymentEventRecord[],
  ): Promise<StoredDeployment | undefined> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('deployments')
          .values({
            id: document.id,
            policy_set_version_id: document.policySetVersionId,
            zones: zonesOf(document),
            state: document.state,
            document: JSON.stringify(document),
            idempotency_key: document.idempotencyKey,
            request_sha256: requestSha256,
            runner: null,
            lease_until: null,
            finished_at: isTerminal(document.state) ? new Date(document.finishedAt) : null,
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        if (events.length > 0)
          await tx
            .insertInto('deployment_events')
            .values(events.map((event) => eventRow(document.id, event)))
            .execute();
        return { seq: row.seq, document };
      });
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /** A deployment by id. */
  async get(id: string): Promise<StoredDeployment | undefined> {
    const row = await this.db
      .selectFrom('deployments')
      .select(['seq', 'document'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? { seq: row.seq, document: row.document as DeploymentDocument } : undefined;
  }

  /** A page of deployments, newest first, optionally only those targeting `zoneId`. */
  async list(
    limit: number,
    beforeSeq: string | undefined,
    zoneId: string,
  ): Promise<StoredDeployment[]> {
    let query = this.db.selectFrom('deployments').select(['seq', 'document']);
    if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq);
    if (zoneId) query = query.where(sql<boolean>`${zoneId} = any(zones)`);
    const rows = await query.orderBy('seq', 'desc').limit(limit).execute();
    return rows.map((row) => ({ seq: row.seq, document: row.document as DeploymentDocument }));
  }

  /**
   * Applies `change` to the deployment's current document under its row lock;
   * commits the new document, its events and stage verdicts together. Returns
   * the document as it stands afterwards (unchanged when `change` gave `null`).
   */
  async transition(
    id: string,
    change: (document: DeploymentDocument) => Transition | null,
  ): Promise<{ document: DeploymentDocument; changed: boolean } | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('deployments')
        .select('document')
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return undefined;
      const current = row.document as DeploymentDocument;
      const next = change(current);
      if (!next) return { document: current, changed: false };
      const { document } = next;
      await tx
        .updateTable('deployments')
        .set({
          state: document.state,
          document: JSON.stringify(document),
          updated_at: sql<Date>`clock_timestamp()`,
          finished_at: isTerminal(document.state) ? new Date(document.finishedAt) : null,
          ...(isTerminal(document.state) ? { runner: null, lease_until: null } : {}),
        })
        .where('id', '=', id)
        .execute();
      if (next.events.length > 0)
        await tx
          .insertInto('deployment_events')
          .values(next.events.map((event) => eventRow(id, event)))
          .execute();
      for (const verdict of next.stageVerdicts)
        await tx
          .insertInto('stage_verdicts')
          .values({
            deployment_id: id,
            stage: verdict.stage,
            zone_id: verdict.zoneId,
            policy_set_version_id: verdict.policySetVersionId,
            passed: verdict.passed,
            evidence: verdict.evidence,
          })
          .onConflict((oc) => oc.columns(['deployment_id', 'stage', 'zone_id']).doNothing())
          .execute();
      return { document, changed: true };
    });
  }

  /** Events of a deployment after `afterSeq`, oldest first. */
  async events(id: string, afterSeq: string, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db
      .selectFrom('deployment_events')
      .selectAll()
      .where('deployment_id', '=', id)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      seq: String(row.seq),
      deploymentId: row.deployment_id,
      kind: row.kind,
      stage: row.stage,
      zoneId: row.zone_id,
      message: row.message,
      details: row.details,
      at: row.at,
    }));
  }

  /** Ids of deployments that have not ended and whose lease is free or `runner`'s, oldest first. */
  async claimable(runner: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deployments')
      .select('id')
      .where('state', 'in', ['running', 'paused', 'rolling_back'])
      .where((eb) =>
        eb.or([
          eb('runner', '=', runner),
          eb('lease_until', 'is', null),
          eb('lease_until', '<', sql<Date>`clock_timestamp()`),
        ]),
      )
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Takes or renews the deployment's lease for `runner`; false when another
   * runner holds an unexpired lease or the deployment has ended.
   */
  async lease(id: string, runner: string, leaseMs: number): Promise<boolean> {
    const row = await this.db
      .updateTable('deployments')
      .set({
        runner,
        lease_until: sql<Date>`clock_timestamp() + make_interval(secs => ${leaseMs / 1000})`,
      })
      .where('id', '=', id)
      .where('state', 'in', ['running', 'paused', 'rolling_back'])
      .where((eb) =>
        eb.or([
          eb('runner', '=', runner),
          eb('lease_until', 'is', null),
          eb('lease_until', '<', sql<Date>`clock_timestamp()`),
        ]),
      )
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Gives up `runner`'s leases (a clean shutdown), so another replica resumes at once. */
  async releaseAll(runner: string): Promise<void> {
    await this.db
      .updateTable('deployments')
      .set({ runner: null, lease_until: null })
      .where('runner', '=', runner)
      .execute();
  }

  /** Versions of the zone a deployment stage failed with (never known good). */
  async failedVersions(zoneId: string): Promise<readonly string[]> {
    return this.versionsJudged(zoneId, false);
  }

  /** Versions of the zone a deployment stage passed with (the known good ones). */
  async passedVersions(zoneId: string): Promise<readonly string[]> {
    return this.versionsJudged(zoneId, true);
  }

  private async versionsJudged(zoneId: string, passed: boolean): Promise<string[]> {
    const rows = await this.db
      .selectFrom('stage_verdicts')
      .select('policy_set_version_id')
      .distinct()
      .where('zone_id', '=', zoneId)
      .where('passed', '=', passed)
      .execute();
    return rows.map((row) => row.policy_set_version_id);
  }
}

function eventRow(deploymentId: string, event: DeploymentEventRecord) {
  return {
    deployment_id: deploymentId,
    kind: event.kind,
    stage: event.stage,
    zone_id: event.zoneId,
    message: event.message,
    details: JSON.stringify(event.details),
  };
}
