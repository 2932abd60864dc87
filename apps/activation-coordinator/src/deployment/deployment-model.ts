import type { StoredDeploymentState } from '../database/coordinator.schema.js';

/** Stored names of stage states. */
export type StoredStageState =
  'pending' | 'activating' | 'converging' | 'verifying' | 'passed' | 'failed' | 'skipped';

/** Stored names of a stage zone's states. */
export type StoredZoneState =
  | 'pending'
  | 'activated'
  | 'converged'
  | 'passed'
  | 'rolled_back'
  | 'rollback_skipped'
  | 'rollback_failed';

/** Stored names of verdict states. */
export type StoredVerdictState = 'pending' | 'pass' | 'fail';

/** The verification gates of a stage as stored (the `VerificationGates` message's fields). */
export interface GatesRecord {
  readonly minProbeRoundsPerRegion: number;
  readonly maxTransportErrorRatio: number;
  readonly maxPolicyAgeSeconds: number;
  readonly bakeSeconds: number;
  readonly timeoutSeconds: number;
}

/** One row of a verdict as stored. */
export interface VerdictRowRecord {
  readonly check: string;
  readonly state: StoredVerdictState;
  readonly evidence: string;
  readonly details: Readonly<Record<string, string>>;
}

/** The verification aggregator's latest verdict of a stage as stored. */
export interface VerdictRecord {
  readonly state: StoredVerdictState;
  readonly rows: readonly VerdictRowRecord[];
  readonly startedAt: number;
  readonly decidedAt: number;
}

/** One pre-flight check with its evidence. */
export interface PreflightRecord {
  readonly check: string;
  readonly zoneId: string;
  readonly passed: boolean;
  readonly evidence: string;
  readonly details: Readonly<Record<string, string>>;
}

/** One zone of a stage and how far the deployment got with it. */
export interface ZoneRecord {
  readonly zoneId: string;
  readonly policySetVersionId: string;
  readonly manifestSha256: string;
  readonly state: StoredZoneState;
  /** The version active when pre-flight ran: the activation's compare-and-set expectation. */
  readonly previousVersionId: string;
  readonly activationId: string;
  readonly liveReplicas: number;
  readonly servingReplicas: number;
  readonly rollbackId: string;
  readonly rolledBackTo: string;
  readonly rollbackAttempts: number;
  readonly detail: string;
}

/** One stage as asked for and as it stands. */
export interface StageRecord {
  readonly name: string;
  readonly regions: readonly string[];
  readonly bakeSeconds: number;
  readonly gates: GatesRecord;
  readonly state: StoredStageState;
  readonly zones: readonly ZoneRecord[];
  readonly verdict: VerdictRecord | null;
  readonly startedAt: number;
  /** When every zone converged and verification began (the bake starts here). */
  readonly verifyingSince: number;
  readonly finishedAt: number;
}

/** An operator's request to end the deployment, applied by the runner at its next step. */
export interface AbortRecord {
  readonly actor: string;
  readonly reason: string;
  readonly rollBack: boolean;
}

/** Why touched zones are being rolled back: the activation trigger the rollback carries. */
export type RollbackCause = 'rollback_verdict' | 'rollback_manual';

/** Everything known about a deployment; stored as one JSON document, changed only by {@link Transition}s. */
export interface DeploymentDocument {
  readonly id: string;
  readonly policySetVersionId: string;
  readonly state: StoredDeploymentState;
  readonly actor: string;
  readonly reason: string;
  readonly idempotencyKey: string;
  readonly acceptNoRollbackZones: readonly string[];
  readonly zoneVersions: readonly {
    readonly zoneId: string;
    readonly policySetVersionId: string;
  }[];
  readonly preflight: readonly PreflightRecord[];
  readonly stages: readonly StageRecord[];
  /** Index of the stage running or last run; -1 before the first. */
  readonly currentStage: number;
  readonly failureReason: string;
  readonly pausedBy: string;
  readonly abort: AbortRecord | null;
  readonly rollbackCause: RollbackCause | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number;
}

/** A state change to record. */
export interface DeploymentEventRecord {
  readonly kind: string;
  readonly stage: string;
  readonly zoneId: string;
  readonly message: string;
  readonly details: Readonly<Record<string, string>>;
}

/** A stage's verdict for one zone's version, recorded for the last-known-good choice. */
export interface StageVerdictRecord {
  readonly stage: string;
  readonly zoneId: string;
  readonly policySetVersionId: string;
  readonly passed: boolean;
  readonly evidence: string;
}

/** The result of a transition: the new document, its events, and stage verdicts to record. */
export interface Transition {
  readonly document: DeploymentDocument;
  readonly events: readonly DeploymentEventRecord[];
  readonly stageVerdicts: readonly StageVerdictRecord[];
}

/** What {@link newDeployment} starts from: the checked request and the pre-flight outcome. */
export interface NewDeployment {
  readonly id: string;
  readonly policySetVersionId: string;
  readonly actor: string;
  readonly reason: string;
  readonly idempotencyKey: string;
  readonly acceptNoRollbackZones: readonly string[];
  readonly zoneVersions: readonly {
    readonly zoneId: string;
    readonly policySetVersionId: string;
  }[];
  readonly stages: readonly {
    readonly name: string;
    readonly regions: readonly string[];
    readonly bakeSeconds: number;
    readonly gates: GatesRecord;
    readonly zones: readonly {
      readonly zoneId: string;
      readonly policySetVersionId: string;
      readonly manifestSha256: string;
      readonly previousVersionId: string;
    }[];
  }[];
  readonly preflight: readonly PreflightRecord[];
}

/**
 * A new deployment after its pre-flight: running when every check passed,
 * otherwise failed before touching any zone, naming the failed checks.
 */
export function newDeployment(input: NewDeployment, now: number): Transition {
  const failed = input.preflight.filter((check) => !check.passed);
  const stages: StageRecord[] = input.stages.map((stage) => ({
    name: stage.name,
    regions: [...stage.regions],
    bakeSeconds: stage.bakeSeconds,
    gates: stage.gates,
    state: failed.length > 0 ? 'skipped' : 'pending',
    zones: stage.zones.map((zone) => ({
      ...zone,
      state: 'pending',
      activationId: '',
      liveReplicas: 0,
      servingReplicas: 0,
      rollbackId: '',
      rolledBackTo: '',
      rollbackAttempts: 0,
      detail: '',
    })),
    verdict: null,
    startedAt: 0,
    verifyingSince: 0,
    finishedAt: 0,
  }));
  const failureReason =
    failed.length > 0
      ? `pre-flight failed: ${failed.map((c) => `${c.check}${c.zoneId ? ` (${c.zoneId})` : ''}: ${c.evidence}`).join('; ')}`
      : '';
  const document: DeploymentDocument = {
    id: input.id,
    policySetVersionId: input.policySetVersionId,
    state: failed.length > 0 ? 'failed' : 'running',
    actor: input.actor,
    reason: input.reason,
    idempotencyKey: input.idempotencyKey,
    acceptNoRollbackZones: [...input.acceptNoRollbackZones],
    zoneVersions: [...input.zoneVersions],
    preflight: [...input.preflight],
    stages,
    currentStage: -1,
    failureReason,
    pausedBy: '',
    abort: null,
    rollbackCause: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: failed.length > 0 ? now : 0,
  };
  const events: DeploymentEventRecord[] = input.preflight.map((check) => ({
    kind: 'preflight_check',
    stage: '',
    zoneId: check.zoneId,
    message: `${check.check}: ${check.passed ? 'passed' : 'failed'} (${check.evidence})`,
    details: { check: check.check, passed: String(check.passed), ...check.details },
  }));
  events.push(
    failed.length > 0
      ? {
          kind: 'deployment_ended',
          stage: '',
          zoneId: '',
          message: failureReason,
          details: { state: 'failed' },
        }
      : {
          kind: 'deployment_started',
          stage: '',
          zoneId: '',
          message: `deploying ${input.policySetVersionId} in ${stages.length} stages`,
          details: { actor: input.actor, reason: input.reason },
        },
  );
  return { document, events, stageVerdicts: [] };
}

const terminalStates: ReadonlySet<StoredDeploymentState> = new Set([
  'succeeded',
  'failed',
  'rolled_back',
  'aborted',
]);

/** Whether the deployment has ended. */
export function isTerminal(state: StoredDeploymentState): boolean {
  return terminalStates.has(state);
}

/** Zones the deployment activated that still serve (or may serve) its version. */
export function zonesToRollBack(document: DeploymentDocument): ZoneRecord[] {
  return document.stages.flatMap((stage) =>
    stage.zones.filter(
      (zone) =>
        zone.activationId !== '' &&
        (zone.state === 'activated' || zone.state === 'converged' || zone.state === 'passed'),
    ),
  );
}

class Builder {
  private document: DeploymentDocument;
  private readonly events: DeploymentEventRecord[] = [];
  private readonly verdicts: StageVerdictRecord[] = [];

  constructor(
    document: DeploymentDocument,
    private readonly now: number,
  ) {
    this.document = { ...document, updatedAt: now };
  }

  get current(): DeploymentDocument {
    return this.document;
  }

  set(patch: Partial<DeploymentDocument>): this {
    this.document = { ...this.document, ...patch };
    return this;
  }

  stage(index: number, patch: (stage: StageRecord) => Partial<StageRecord>): this {
    const stages = this.document.stages.map((stage, i) =>
      i === index ? { ...stage, ...patch(stage) } : stage,
    );
    this.document = { ...this.document, stages };
    return this;
  }

  zone(zoneId: string, patch: (zone: ZoneRecord) => Partial<ZoneRecord>): this {
    const stages = this.document.stages.map((stage) => ({
      ...stage,
      zones: stage.zones.map((zone) =>
        zone.zoneId === zoneId ? { ...zone, ...patch(zone) } : zone,
      ),
    }));
    this.document = { ...this.document, stages };
    return this;
  }

  event(
    kind: string,
    message: string,
    options: { stage?: string; zoneId?: string; details?: Record<string, string> } = {},
  ): this {
    this.events.push({
      kind,
      message,
      stage: options.stage ?? '',
      zoneId: options.zoneId ?? '',
      details: options.details ?? {},
    });
    return this;
  }

  verdict(record: StageVerdictRecord): this {
    this.verdicts.push(record);
    return this;
  }

  /** Ends the deployment in `state`, marking stages that never started as skipped. */
  end(state: StoredDeploymentState, message: string, failureReason = ''): this {
    const stages = this.document.stages.map((stage) =>
      stage.state === 'pending' ? { ...stage, state: 'skipped' as const } : stage,
    );
    this.document = {
      ...this.document,
      stages,
      state,
      finishedAt: this.now,
      failureReason: failureReason || this.document.failureReason,
    };
    return this.event('deployment_ended', message, { details: { state } });
  }

  build(): Transition {
    return { document: this.document, events: this.events, stageVerdicts: this.verdicts };
  }
}

const currentStage = (document: DeploymentDocument): StageRecord | undefined =>
  document.stages[document.currentStage];

const stageOf = (document: DeploymentDocument, zoneId: string): StageRecord | undefined =>
  document.stages.find((stage) => stage.zones.some((zone) => zone.zoneId === zoneId));

/**
 * The deployment's state machine: pure functions from a document (and what the
 * runner observed) to the next document and the events that describe the
 * change. Each returns `null` when the observation changes nothing, so the
 * runner may call them on every pass.
 */
export const transitions = {
  /** Starts the next pending stage unless the deployment is paused, aborting or ended. */
  startStage(document: DeploymentDocument, now: number): Transition | null {
    if (document.state !== 'running' || document.abort) return null;
    const index = document.stages.findIndex((stage) => stage.state === 'pending');
    if (index < 0) return null;
    const stage = document.stages[index]!;
    return new Builder(document, now)
      .set({ currentStage: index })
      .stage(index, () => ({ state: 'activating', startedAt: now }))
      .event(
        'stage_started',
        `stage "${stage.name}" started: activating ${stage.zones.map((z) => z.zoneId).join(', ')}`,
        { stage: stage.name, details: { index: String(index) } },
      )
      .build();
  },

  /** Records a zone's activation; the stage converges once every zone is activated. */
  zoneActivated(
    document: DeploymentDocument,
    zoneId: string,
    activationId: string,
    now: number,
  ): Transition | null {
    const stage = currentStage(document);
    const zone = stage?.zones.find((z) => z.zoneId === zoneId);
    if (!stage || !zone || zone.activationId === activationId) return null;
    const builder = new Builder(document, now)
      .zone(zoneId, () => ({ state: 'activated', activationId }))
      .event('zone_activated', `zone "${zoneId}" activated ${zone.policySetVersionId}`, {
        stage: stage.name,
        zoneId,
        details: { activation_id: activationId, policy_set_version_id: zone.policySetVersionId },
      });
    const updated = currentStage(builder.current)!;
    if (stage.state === 'activating' && updated.zones.every((z) => z.activationId !== ''))
      builder.stage(document.currentStage, () => ({ state: 'converging' }));
    return builder.build();
  },

  /**
   * Records a zone's replica counts; a zone converges when every live replica
   * serves the revision, and the stage starts verifying when all of its zones have.
   */
  zoneProgress(
    document: DeploymentDocument,
    zoneId: string,
    progress: { live: number; serving: number; converged: boolean },
    now: number,
  ): Transition | null {
    const stage = currentStage(document);
    const zone = stage?.zones.find((z) => z.zoneId === zoneId);
    if (!stage || !zone || stage.state !== 'converging') return null;
    const state = progress.converged ? 'converged' : zone.state;
    if (
      zone.liveReplicas === progress.live &&
      zone.servingReplicas === progress.serving &&
      zone.state === state
    )
      return null;
    const builder = new Builder(document, now).zone(zoneId, () => ({
      liveReplicas: progress.live,
      servingReplicas: progress.serving,
      state,
    }));
    builder.event(
      progress.converged ? 'zone_converged' : 'zone_converging',
      `zone "${zoneId}": ${progress.serving}/${progress.live} live replicas serve the revision`,
      {
        stage: stage.name,
        zoneId,
        details: { serving: String(progress.serving), live: String(progress.live) },
      },
    );
    const updated = currentStage(builder.current)!;
    if (updated.zones.every((z) => z.state === 'converged'))
      builder
        .stage(document.currentStage, () => ({ state: 'verifying', verifyingSince: now }))
        .event(
          'stage_verifying',
          `stage "${stage.name}" converged; verifying over ${stage.bakeSeconds} s`,
          { stage: stage.name },
        );
    return builder.build();
  },

  /** Records the verifier's verdict when it changed, naming the rows that changed. */
  verdictObserved(
    document: DeploymentDocument,
    verdict: VerdictRecord,
    now: number,
  ): Transition | null {
    const stage = currentStage(document);
    if (!stage || stage.state !== 'verifying') return null;
    const before = new Map((stage.verdict?.rows ?? []).map((row) => [row.check, row]));
    const changed = verdict.rows.filter((row) => {
      const old = before.get(row.check);
      return !old || old.state !== row.state || old.evidence !== row.evidence;
    });
    if (stage.verdict?.state === verdict.state && changed.length === 0) return null;
    const builder = new Builder(document, now).stage(document.currentStage, () => ({ verdict }));
    builder.event('verdict', `stage "${stage.name}" verdict ${verdict.state}`, {
      stage: stage.name,
      details: { state: verdict.state },
    });
    for (const row of changed)
      builder.event('verdict_row', `${row.check}: ${row.state} (${row.evidence})`, {
        stage: stage.name,
        details: { check: row.check, state: row.state, evidence: row.evidence },
      });
    return builder.build();
  },

  /**
   * Passes the verifying stage once its verdict passed and the bake time is
   * over: its zones' versions become known good; the next stage, if any, is
   * started by {@link transitions.startStage}.
   */
  stagePassed(document: DeploymentDocument, now: number): Transition | null {
    const stage = currentStage(document);
    if (!stage || stage.state !== 'verifying' || stage.verdict?.state !== 'pass') return null;
    if (now < stage.verifyingSince + stage.bakeSeconds * 1000) return null;
    const builder = new Builder(document, now).stage(document.currentStage, () => ({
      state: 'passed',
      finishedAt: now,
    }));
    for (const zone of stage.zones) {
      builder.zone(zone.zoneId, () => ({ state: 'passed' }));
      builder.verdict({
        stage: stage.name,
        zoneId: zone.zoneId,
        policySetVersionId: zone.policySetVersionId,
        passed: true,
        evidence: verdictSummary(stage.verdict),
      });
    }
    builder.event('stage_passed', `stage "${stage.name}" passed`, { stage: stage.name });
    if (document.stages.every((s, i) => i === document.currentStage || s.state === 'passed'))
      builder.end('succeeded', 'every stage passed');
    return builder.build();
  },

  /**
   * Fails the running stage (a failed verdict, an activation refused, a rollout
   * that stalled): its zones' versions are recorded as failed, later stages are
   * skipped, and every zone the deployment touched is rolled back.
   */
  stageFailed(document: DeploymentDocument, why: string, now: number): Transition | null {
    const stage = currentStage(document);
    if (!stage || isTerminal(document.state) || document.state === 'rolling_back') return null;
    if (stage.state === 'passed' || stage.state === 'failed') return null;
    const builder = new Builder(document, now).stage(document.currentStage, () => ({
      state: 'failed',
      finishedAt: now,
    }));
    for (const zone of stage.zones)
      if (zone.activationId)
        builder.verdict({
          stage: stage.name,
          zoneId: zone.zoneId,
          policySetVersionId: zone.policySetVersionId,
          passed: false,
          evidence: why,
        });
    builder.event('stage_failed', `stage "${stage.name}" failed: ${why}`, {
      stage: stage.name,
      details: { reason: why },
    });
    return beginRollback(builder, why, 'rollback_verdict').build();
  },

  /**
   * A touched zone now serves another version than the deployment put there (an
   * alert-driven or manual rollback, another activation): the deployment stops
   * and rolls back the other touched zones.
   */
  zoneChanged(
    document: DeploymentDocument,
    zoneId: string,
    nowServing: string,
    now: number,
  ): Transition | null {
    if (isTerminal(document.state)) return null;
    const zone = zonesToRollBack(document).find((z) => z.zoneId === zoneId);
    const stage = stageOf(document, zoneId);
    if (!zone || !stage) return null;
    const why = `zone "${zoneId}" changed under the deployment: it serves ${nowServing || 'no version'}, not ${zone.policySetVersionId}`;
    const builder = new Builder(document, now)
      .zone(zoneId, () => ({
        state: 'rollback_skipped',
        detail: `changed outside the deployment to ${nowServing || 'no version'}`,
      }))
      .event('zone_changed_under_deployment', why, {
        stage: stage.name,
        zoneId,
        details: { now_serving: nowServing },
      });
    if (document.state === 'rolling_back') return builder.build();
    // The stage in progress (the zone's own, or a later one) stops here.
    const running = currentStage(document);
    if (
      running &&
      running.state !== 'passed' &&
      running.state !== 'failed' &&
      running.state !== 'pending'
    )
      builder.stage(document.currentStage, () => ({ state: 'failed', finishedAt: now }));
    if (stage.state !== 'passed')
      builder.verdict({
        stage: stage.name,
        zoneId,
        policySetVersionId: zone.policySetVersionId,
        passed: false,
        evidence: why,
      });
    return beginRollback(builder, why, 'rollback_verdict').build();
  },

  /** Records the outcome of one zone's rollback and ends the deployment when none is left. */
  zoneRollbackDone(
    document: DeploymentDocument,
    zoneId: string,
    outcome: {
      state: 'rolled_back' | 'rollback_skipped' | 'rollback_failed';
      rollbackId?: string;
      rolledBackTo?: string;
      detail: string;
    },
    now: number,
  ): Transition | null {
    if (document.state !== 'rolling_back') return null;
    if (!zonesToRollBack(document).some((z) => z.zoneId === zoneId)) return null;
    const builder = new Builder(document, now)
      .zone(zoneId, () => ({
        state: outcome.state,
        rollbackId: outcome.rollbackId ?? '',
        rolledBackTo: outcome.rolledBackTo ?? '',
        detail: outcome.detail,
      }))
      .event('zone_rolled_back', `zone "${zoneId}": ${outcome.state} (${outcome.detail})`, {
        zoneId,
        stage: stageOf(document, zoneId)?.name ?? '',
        details: {
          outcome: outcome.state,
          rollback_id: outcome.rollbackId ?? '',
          rolled_back_to: outcome.rolledBackTo ?? '',
        },
      });
    return finishRollbackIfDone(builder).build();
  },

  /** Counts a retryable rollback failure of a zone (the runner tries again). */
  zoneRollbackRetry(
    document: DeploymentDocument,
    zoneId: string,
    error: string,
    now: number,
  ): Transition | null {
    if (document.state !== 'rolling_back') return null;
    const zone = zonesToRollBack(document).find((z) => z.zoneId === zoneId);
    if (!zone) return null;
    const attempt = zone.rollbackAttempts + 1;
    return new Builder(document, now)
      .zone(zoneId, () => ({
        rollbackAttempts: attempt,
        detail: `rollback attempt ${attempt} failed: ${error}`,
      }))
      .event('rollback_retry', `zone "${zoneId}": rollback attempt ${attempt} failed: ${error}`, {
        zoneId,
        stage: stageOf(document, zoneId)?.name ?? '',
        details: { attempt: String(attempt), error },
      })
      .build();
  },

  /** Ends a rollback with nothing (left) to roll back. */
  finishRollback(document: DeploymentDocument, now: number): Transition | null {
    if (document.state !== 'rolling_back' || zonesToRollBack(document).length > 0) return null;
    return finishRollbackIfDone(new Builder(document, now)).build();
  },

  /** Stops the deployment from starting another stage. */
  pause(
    document: DeploymentDocument,
    actor: string,
    reason: string,
    now: number,
  ): Transition | null {
    if (document.state !== 'running') return null;
    return new Builder(document, now)
      .set({ state: 'paused', pausedBy: actor })
      .event('paused', `paused by ${actor}: ${reason}`, { details: { actor, reason } })
      .build();
  },

  /** Lets a paused deployment continue. */
  resume(
    document: DeploymentDocument,
    actor: string,
    reason: string,
    now: number,
  ): Transition | null {
    if (document.state !== 'paused') return null;
    return new Builder(document, now)
      .set({ state: 'running', pausedBy: '' })
      .event('resumed', `resumed by ${actor}: ${reason}`, { details: { actor, reason } })
      .build();
  },

  /** Records an operator's abort; {@link transitions.applyAbort} acts on it. */
  requestAbort(document: DeploymentDocument, abort: AbortRecord, now: number): Transition | null {
    if (isTerminal(document.state) || document.abort) return null;
    return new Builder(document, now)
      .set({ abort })
      .event(
        'abort_requested',
        `abort requested by ${abort.actor}${abort.rollBack ? ' with rollback' : ''}: ${abort.reason}`,
        {
          details: { actor: abort.actor, reason: abort.reason, roll_back: String(abort.rollBack) },
        },
      )
      .build();
  },

  /**
   * Ends an aborted deployment: without rollback its activated zones keep what
   * they serve and it ends aborted; with rollback every touched zone is rolled
   * back. A stage in progress is failed either way (it was not verified).
   */
  applyAbort(document: DeploymentDocument, now: number): Transition | null {
    const abort = document.abort;
    if (!abort || isTerminal(document.state) || document.state === 'rolling_back') return null;
    const why = `aborted by ${abort.actor}: ${abort.reason}`;
    const builder = new Builder(document, now);
    const stage = currentStage(document);
    if (stage && stage.state !== 'passed' && stage.state !== 'failed' && stage.state !== 'pending')
      builder.stage(document.currentStage, () => ({ state: 'failed', finishedAt: now }));
    if (!abort.rollBack) return builder.end('aborted', why, why).build();
    return beginRollback(builder, why, 'rollback_manual').build();
  },
};

function beginRollback(builder: Builder, why: string, cause: RollbackCause): Builder {
  builder.set({ state: 'rolling_back', failureReason: why, rollbackCause: cause });
  const zones = zonesToRollBack(builder.current);
  builder.event(
    'rollback_started',
    zones.length > 0
      ? `rolling back ${zones.map((z) => `"${z.zoneId}"`).join(', ')}`
      : 'no zone to roll back',
    { details: { zones: zones.map((z) => z.zoneId).join(',') } },
  );
  return finishRollbackIfDone(builder);
}

function finishRollbackIfDone(builder: Builder): Builder {
  const document = builder.current;
  if (zonesToRollBack(document).length > 0) return builder;
  const stuck = document.stages
    .flatMap((stage) => stage.zones)
    .filter((zone) => zone.state === 'rollback_failed');
  if (stuck.length > 0)
    return builder.end(
      'failed',
      `rollback failed in ${stuck.map((z) => `"${z.zoneId}"`).join(', ')}`,
      `${document.failureReason}; rollback failed in ${stuck.map((z) => `"${z.zoneId}" (${z.detail})`).join(', ')}`,
    );
  const touched = document.stages.some((stage) => stage.zones.some((zone) => zone.activationId));
  return touched
    ? builder.end('rolled_back', `rolled back: ${document.failureReason}`)
    : builder.end('failed', `failed before touching a zone: ${document.failureReason}`);
}

/** The failing (or all) rows of a verdict in one line, as evidence. */
export function verdictSummary(verdict: VerdictRecord | null): string {
  if (!verdict) return 'no verdict';
  const failing = verdict.rows.filter((row) => row.state === 'fail');
  const rows = failing.length > 0 ? failing : verdict.rows;
  return `verdict ${verdict.state}: ${rows.map((row) => `${row.check} ${row.state} (${row.evidence})`).join('; ')}`;
}
