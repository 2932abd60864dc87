import { Inject, Injectable } from '@nestjs/common';
import { sql, type Kysely, type Selectable } from 'kysely';

import type { ProbeFacts } from '../probes/probe-assessment.js';
import type { Gates, JudgedState, RowResult } from '../verdict/verdict-rows.js';
import type {
  ProbeResultsTable,
  StagesTable,
  VerificationDatabase,
} from './verification.schema.js';

/** Injection token of the verification database (a Kysely instance). */
export const VERIFICATION_DB = Symbol('VERIFICATION_DB');

/** A stage as stored, in the app's terms. */
export interface StageRecord {
  readonly deploymentId: string;
  readonly stage: string;
  readonly zones: readonly { readonly zoneId: string; readonly activationId: string }[];
  readonly regions: readonly string[];
  readonly policySetVersionId: string;
  readonly revision: string;
  readonly gates: Gates;
  readonly state: JudgedState;
  readonly rows: readonly RowResult[];
  readonly startedAt: Date;
  readonly decidedAt: Date | null;
  /** Bumped on every stored change. */
  readonly changes: number;
}

/** A stage to record (its verdict starts pending with no rows). */
export type NewStage = Omit<StageRecord, 'state' | 'rows' | 'decidedAt' | 'changes'>;

/** A probe result as stored: the facts, plus the classification answered on the stream. */
export interface ProbeRecord extends ProbeFacts {
  readonly decisionId: string;
  readonly latencyMs: number;
  /** CanaryResult name, lower case. */
  readonly result: string;
  readonly detail: string;
}

function stageOf(row: Selectable<StagesTable>): StageRecord {
  return {
    deploymentId: row.deployment_id,
    stage: row.stage,
    zones: row.zones.map((zone) => ({ zoneId: zone.zone_id, activationId: zone.activation_id })),
    regions: row.regions,
    policySetVersionId: row.policy_set_version_id,
    revision: row.revision,
    gates: row.gates,
    state: row.state,
    rows: row.rows,
    startedAt: row.started_at,
    decidedAt: row.decided_at,
    changes: row.changes,
  };
}

function probeOf(row: Selectable<ProbeResultsTable>): ProbeRecord {
  return {
    requestId: row.request_id,
    agentId: row.agent_id,
    region: row.region,
    zoneId: row.zone_id,
    probeId: row.probe_id,
    round: row.round,
    expectedDecision: row.expected_decision,
    httpStatus: row.http_status,
    observedDecision: row.observed_decision,
    decisionId: row.decision_id,
    observedRevision: row.observed_revision,
    transportError: row.transport_error,
    latencyMs: row.latency_ms,
    sentAtMs: row.sent_at.getTime(),
    audit: row.audit ?? undefined,
    result: row.result,
    detail: row.detail,
  };
}

/** Stages, verdicts and probe results in PostgreSQL. */
@Injectable()
export class VerificationRepository {
  constructor(@Inject(VERIFICATION_DB) private readonly db: Kysely<VerificationDatabase>) {}

  /** Records a stage unless one with the same deployment and name exists; returns the stored one. */
  async insertStage(stage: NewStage): Promise<{ record: StageRecord; created: boolean }> {
    const inserted = await this.db
      .insertInto('stages')
      .values({
        deployment_id: stage.deploymentId,
        stage: stage.stage,
        zones: JSON.stringify(
          stage.zones.map((zone) => ({ zone_id: zone.zoneId, activation_id: zone.activationId })),
        ),
        zone_ids: stage.zones.map((zone) => zone.zoneId),
        regions: [...stage.regions],
        policy_set_version_id: stage.policySetVersionId,
        revision: stage.revision,
        gates: JSON.stringify(stage.gates),
        state: 'pending',
        rows: '[]',
        started_at: stage.startedAt,
        decided_at: null,
      })
      .onConflict((conflict) => conflict.columns(['deployment_id', 'stage']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { record: stageOf(inserted), created: true };
    const existing = await this.stage(stage.deploymentId, stage.stage);
    if (!existing) throw new Error(`stage ${stage.deploymentId}/${stage.stage} vanished`);
    return { record: existing, created: false };
  }

  /** The stage, if recorded. */
  async stage(deploymentId: string, stage: string): Promise<StageRecord | undefined> {
    const row = await this.db
      .selectFrom('stages')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .where('stage', '=', stage)
      .executeTakeFirst();
    return row && stageOf(row);
  }

  /** Every stage still pending, oldest first. */
  async pendingStages(): Promise<StageRecord[]> {
    const rows = await this.db
      .selectFrom('stages')
      .selectAll()
      .where('state', '=', 'pending')
      .orderBy('started_at')
      .execute();
    return rows.map(stageOf);
  }

  /** The latest stage of each (zone, stage name) pair, for the verdict metric after a restart. */
  async latestStagePerZone(): Promise<StageRecord[]> {
    const rows = await this.db
      .selectFrom('stages')
      .selectAll()
      .orderBy('started_at', 'desc')
      .limit(10_000)
      .execute();
    return rows.map(stageOf);
  }

  /** The most recently started stage covering `zoneId`: the revision its probes must show. */
  async latestStageOfZone(zoneId: string): Promise<StageRecord | undefined> {
    const row = await this.db
      .selectFrom('stages')
      .selectAll()
      .where(sql<boolean>`zone_ids @> array[${zoneId}]::text[]`)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && stageOf(row);
  }

  /**
   * Stores a new judgement of a pending stage. A decided verdict never
   * changes: when another replica decided first, nothing is written and the
   * stored stage is returned with `changed` false.
   */
  async storeJudgement(
    stage: StageRecord,
    judgement: { state: JudgedState; rows: readonly RowResult[]; decidedAt: Date | null },
  ): Promise<{ record: StageRecord | undefined; changed: boolean }> {
    const updated = await this.db
      .updateTable('stages')
      .set((eb) => ({
        state: judgement.state,
        rows: JSON.stringify(judgement.rows),
        decided_at: judgement.decidedAt,
        changes: eb('changes', '+', 1),
      }))
      .where('deployment_id', '=', stage.deploymentId)
      .where('stage', '=', stage.stage)
      .where('state', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    if (updated) return { record: stageOf(updated), changed: true };
    return { record: await this.stage(stage.deploymentId, stage.stage), changed: false };
  }

  /** Stores a probe result unless one with its request id exists; returns the stored one. */
  async insertProbe(probe: ProbeRecord): Promise<ProbeRecord> {
    const inserted = await this.db
      .insertInto('probe_results')
      .values({
        request_id: probe.requestId,
        agent_id: probe.agentId,
        region: probe.region,
        zone_id: probe.zoneId,
        probe_id: probe.probeId,
        round: probe.round,
        expected_decision: probe.expectedDecision,
        http_status: probe.httpStatus,
        observed_decision: probe.observedDecision,
        decision_id: probe.decisionId,
        observed_revision: probe.observedRevision,
        transport_error: probe.transportError,
        latency_ms: probe.latencyMs,
        sent_at: new Date(probe.sentAtMs),
        audit: JSON.stringify(probe.audit ?? null),
        result: probe.result,
        detail: probe.detail,
      })
      .onConflict((conflict) => conflict.column('request_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return probeOf(inserted);
    const existing = await this.probe(probe.requestId);
    return existing ?? probe;
  }

  /** The stored result of a probe, if any. */
  async probe(requestId: string): Promise<ProbeRecord | undefined> {
    const row = await this.db
      .selectFrom('probe_results')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return row && probeOf(row);
  }

  /** Probes of the zones and regions sent at or after `since` (at most `limit`, oldest first). */
  async probesOf(
    zoneIds: readonly string[],
    regions: readonly string[],
    since: Date,
    limit = 100_000,
  ): Promise<ProbeRecord[]> {
    if (zoneIds.length === 0 || regions.length === 0) return [];
    const rows = await this.db
      .selectFrom('probe_results')
      .selectAll()
      .where('zone_id', 'in', [...zoneIds])
      .where('region', 'in', [...regions])
      .where('sent_at', '>=', since)
      .orderBy('sent_at')
      .limit(limit)
      .execute();
    return rows.map(probeOf);
  }

  /** Deletes probe results received before `before`; returns how many. */
  async deleteProbesBefore(before: Date): Promise<number> {
    const result = await this.db
      .deleteFrom('probe_results')
      .where('received_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
