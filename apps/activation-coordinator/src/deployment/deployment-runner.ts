import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  ActivationState,
  ActivationTrigger,
  RollbackOutcome,
  VerdictState,
  type Verdict,
} from '@caracal-deploy/contracts';
import { DeployError } from '@caracal-deploy/errors';

import { ActivationMonitor } from '../activation/activation-monitor.js';
import { ActivationRepository } from '../activation/activation.repository.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { DeploymentPeers } from './deployment-peers.js';
import { verdictRecord } from './deployment-message.js';
import {
  isTerminal,
  transitions,
  verdictSummary,
  zonesToRollBack,
  type DeploymentDocument,
  type StageRecord,
  type Transition,
  type ZoneRecord,
} from './deployment-model.js';
import { defaultVerifyTimeoutSeconds } from './deployment-requests.js';
import { DeploymentRepository } from './deployment.repository.js';

/** Deployments a runner looks for per scan. */
const scanBatch = 50;
/** Longest reason sent with a rollback (the controller's limit for free text). */
const maxReasonLength = 500;
/** Pause before reopening a verdict watch that ended without a decision, ms. */
const rewatchDelayMs = 500;

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const activationStateName = (state: ActivationState): string =>
  ActivationState[state]?.toLowerCase() ?? String(state);

/** The latest verdict a stage's watch received, and whether the watch is still open. */
interface VerdictWatch {
  latest: Verdict | undefined;
  open: boolean;
  closedAt: number;
  error: string;
  /** The verifier refused the stage (a request it will never accept): the stage fails. */
  refused: string;
  readonly controller: AbortController;
}

/**
 * Runs deployments to their end, durably: every step is a {@link transitions}
 * change committed before the next side effect, activations and rollbacks are
 * idempotent by keys derived from the deployment, stage and zone, and a
 * deployment is run by the coordinator replica holding its lease, so a
 * restarted (or another) replica resumes a running deployment where it stood.
 */
@Injectable()
export class DeploymentRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeploymentRunner');
  private readonly runnerId = randomUUID();
  private readonly stopping = new AbortController();
  private readonly running = new Map<string, Promise<void>>();
  private readonly watches = new Map<string, VerdictWatch>();
  private readonly nextRollbackAt = new Map<string, number>();
  private scanning: Promise<void> | undefined;
  private wakeScan: (() => void) | undefined;

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly activations: ActivationRepository,
    private readonly monitor: ActivationMonitor,
    private readonly peers: DeploymentPeers,
    private readonly metrics: CoordinatorMetrics,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.scanning = this.scan();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    this.wakeScan?.();
    for (const watch of this.watches.values()) watch.controller.abort();
    await this.scanning;
    await Promise.allSettled(this.running.values());
    // A clean stop hands the deployments over at once instead of after the lease.
    await this.deployments.releaseAll(this.runnerId).catch((error: unknown) => {
      this.logger.warn(`releasing deployment leases failed: ${reason(error)}`);
    });
  }

  /** Looks for deployments to run now rather than at the next scan. */
  wake(): void {
    this.wakeScan?.();
  }

  private async scan(): Promise<void> {
    const signal = this.stopping.signal;
    const interval = Math.max(this.config.convergence.progressIntervalMs, 250);
    while (!signal.aborted) {
      try {
        for (const id of await this.deployments.claimable(this.runnerId, scanBatch)) {
          if (signal.aborted || this.running.has(id)) continue;
          if (!(await this.deployments.lease(id, this.runnerId, this.config.deployments.leaseMs)))
            continue;
          const run = this.run(id).finally(() => this.running.delete(id));
          this.running.set(id, run);
        }
      } catch (error) {
        this.logger.warn(`scanning for deployments failed: ${reason(error)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.wakeScan = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async run(id: string): Promise<void> {
    const signal = this.stopping.signal;
    const { leaseMs } = this.config.deployments;
    // The lease is renewed on a timer, not per step: a step may wait on a rollback's
    // convergence for longer than the lease.
    let leased = true;
    const heartbeat = setInterval(() => {
      this.deployments.lease(id, this.runnerId, leaseMs).then(
        (held) => {
          if (!held) leased = false;
        },
        (error: unknown) =>
          this.logger.warn(`deployment ${id}: renewing the lease failed: ${reason(error)}`),
      );
    }, leaseMs / 3);
    try {
      while (!signal.aborted && leased) {
        try {
          const stored = await this.deployments.get(id);
          if (!stored || isTerminal(stored.document.state)) return;
          await this.step(stored.document);
        } catch (error) {
          this.logger.warn(`deployment ${id}: step failed, retrying: ${reason(error)}`);
        }
        try {
          await delay(this.config.convergence.progressIntervalMs, undefined, { signal });
        } catch {
          return;
        }
      }
    } finally {
      clearInterval(heartbeat);
      for (const [key, watch] of this.watches)
        if (key.startsWith(`${id}/`)) {
          watch.controller.abort();
          this.watches.delete(key);
        }
    }
  }

  private async apply(
    id: string,
    change: (document: DeploymentDocument, now: number) => Transition | null,
  ): Promise<void> {
    const result = await this.deployments.transition(id, (document) =>
      change(document, Date.now()),
    );
    if (result?.changed && isTerminal(result.document.state))
      this.metrics.deploymentsEnded.inc({ state: result.document.state });
  }

  /** One pass: acts on the deployment's current state and records what it saw. */
  private async step(document: DeploymentDocument): Promise<void> {
    const id = document.id;
    if (document.abort && document.state !== 'rolling_back') {
      await this.apply(id, (d, now) => transitions.applyAbort(d, now));
      return;
    }
    if (document.state === 'rolling_back') {
      await this.rollBack(document);
      return;
    }
    // A zone the deployment activated must still serve its version.
    for (const zone of zonesToRollBack(document)) {
      const binding = await this.activations.binding(zone.zoneId);
      const serving = binding?.policy_set_version_id ?? '';
      if (serving !== zone.policySetVersionId) {
        await this.apply(id, (d, now) => transitions.zoneChanged(d, zone.zoneId, serving, now));
        return;
      }
    }
    const stage = document.stages[document.currentStage];
    if (!stage || stage.state === 'passed') {
      await this.apply(id, (d, now) => transitions.startStage(d, now));
      return;
    }
    if (stage.state === 'activating') await this.activate(document, stage);
    else if (stage.state === 'converging') await this.converge(document, stage);
    else if (stage.state === 'verifying') await this.verify(document, stage);
  }

  private async activate(document: DeploymentDocument, stage: StageRecord): Promise<void> {
    for (const zone of stage.zones) {
      if (zone.activationId) continue;
      try {
        const { activation, replayed } = await this.activations.activate({
          zoneId: zone.zoneId,
          policySetVersionId: zone.policySetVersionId,
          expectedActiveVersionId: zone.previousVersionId,
          // The same key on every attempt: a resumed deployment finds its activation.
          idempotencyKey: `deployment:${document.id}:${stage.name}:${zone.zoneId}`,
          reason: `deployment ${document.id} stage "${stage.name}": ${document.reason}`,
          actor: document.actor,
          trigger: 'deployment',
        });
        if (!replayed) this.metrics.activations.inc({ trigger: activation.trigger });
        await this.apply(document.id, (d, now) =>
          transitions.zoneActivated(d, zone.zoneId, activation.id, now),
        );
      } catch (error) {
        if (!(error instanceof DeployError)) throw error;
        const why = `activation of zone "${zone.zoneId}" refused: ${error.message}`;
        await this.apply(document.id, (d, now) => transitions.stageFailed(d, why, now));
        return;
      }
    }
  }

  private async converge(document: DeploymentDocument, stage: StageRecord): Promise<void> {
    for (const zone of stage.zones) {
      if (zone.state !== 'activated') continue;
      const judged = await this.monitor.status(zone.activationId);
      const state = judged.state;
      if (
        state === ActivationState.STALLED ||
        state === ActivationState.DEAD_LETTERED ||
        state === ActivationState.SUPERSEDED
      ) {
        const laggards = judged.status.laggards ?? [];
        const why = `zone "${zone.zoneId}" did not converge: activation ${activationStateName(state)}${laggards.length > 0 ? `, laggards ${laggards.join(', ')}` : ''}`;
        await this.apply(document.id, (d, now) => transitions.stageFailed(d, why, now));
        return;
      }
      await this.apply(document.id, (d, now) =>
        transitions.zoneProgress(
          d,
          zone.zoneId,
          {
            live: judged.status.liveReplicas ?? 0,
            serving: judged.status.servingReplicas ?? 0,
            converged: state === ActivationState.CONVERGED,
          },
          now,
        ),
      );
    }
  }

  private async verify(document: DeploymentDocument, stage: StageRecord): Promise<void> {
    const watch = this.watch(document, stage);
    if (watch.refused) {
      const why = `stage "${stage.name}": the verifier refused it: ${watch.refused}`;
      await this.apply(document.id, (d, now) => transitions.stageFailed(d, why, now));
      return;
    }
    const latest = watch.latest;
    if (latest) {
      const record = verdictRecord(latest);
      await this.apply(document.id, (d, now) => transitions.verdictObserved(d, record, now));
      if (record.state === 'fail') {
        const why = `stage "${stage.name}" verification failed: ${verdictSummary(record)}`;
        await this.apply(document.id, (d, now) => transitions.stageFailed(d, why, now));
        return;
      }
      if (record.state === 'pass') {
        await this.apply(document.id, (d, now) => transitions.stagePassed(d, now));
        return;
      }
    }
    const timeoutSeconds = stage.gates.timeoutSeconds || defaultVerifyTimeoutSeconds;
    const deadline =
      stage.verifyingSince +
      Math.max(stage.bakeSeconds, timeoutSeconds) * 1000 +
      this.config.deployments.verdictGraceMs;
    if (Date.now() > deadline) {
      const why = `stage "${stage.name}": no verdict from the verifier within ${Math.round((deadline - stage.verifyingSince) / 1000)} s${watch.error ? ` (last error: ${watch.error})` : ''}`;
      await this.apply(document.id, (d, now) => transitions.stageFailed(d, why, now));
    }
  }

  /**
   * The stage's verdict watch: VerifyStage (idempotent per deployment and
   * stage) then WatchVerdict, reopened when it ends without a decision (a
   * restarted verifier resumes from its stored state).
   */
  private watch(document: DeploymentDocument, stage: StageRecord): VerdictWatch {
    const key = `${document.id}/${stage.name}`;
    const existing = this.watches.get(key);
    const decided =
      existing?.latest !== undefined &&
      (existing.latest.state === VerdictState.PASS || existing.latest.state === VerdictState.FAIL);
    const keep =
      existing &&
      (existing.open ||
        decided ||
        existing.refused !== '' ||
        Date.now() - existing.closedAt < rewatchDelayMs);
    if (keep) return existing;
    const watch: VerdictWatch = {
      latest: existing?.latest,
      open: true,
      closedAt: 0,
      error: existing?.error ?? '',
      refused: '',
      controller: new AbortController(),
    };
    this.watches.set(key, watch);
    void this.follow(document, stage, watch);
    return watch;
  }

  private async follow(
    document: DeploymentDocument,
    stage: StageRecord,
    watch: VerdictWatch,
  ): Promise<void> {
    const signal = watch.controller.signal;
    try {
      const zones = stage.zones.map((zone) => ({
        zoneId: zone.zoneId,
        activationId: zone.activationId,
      }));
      const started = await this.peers.verifier.verifyStage(
        {
          deploymentId: document.id,
          stage: stage.name,
          zones,
          policySetVersionId: stage.zones[0]?.policySetVersionId ?? document.policySetVersionId,
          revision: stage.zones[0]?.manifestSha256 ?? '',
          regions: [...stage.regions],
          gates: { ...stage.gates, bakeSeconds: stage.bakeSeconds },
        },
        { signal },
      );
      if (started.verdict) watch.latest = started.verdict;
      for await (const message of this.peers.verifier.watchVerdict(
        { deploymentId: document.id, stage: stage.name },
        { signal },
      ))
        if (message.verdict) watch.latest = message.verdict;
      watch.error = '';
    } catch (error) {
      if (!signal.aborted) watch.error = reason(error);
      if (
        error instanceof DeployError &&
        (error.code === 'invalid_argument' || error.code === 'failed_precondition')
      )
        watch.refused = error.message;
    } finally {
      watch.open = false;
      watch.closedAt = Date.now();
    }
  }

  private async rollBack(document: DeploymentDocument): Promise<void> {
    const zones = zonesToRollBack(document);
    if (zones.length === 0) {
      await this.apply(document.id, (d, now) => transitions.finishRollback(d, now));
      return;
    }
    await Promise.all(zones.map((zone) => this.rollBackZone(document, zone)));
  }

  private async rollBackZone(document: DeploymentDocument, zone: ZoneRecord): Promise<void> {
    const key = `${document.id}/${zone.zoneId}`;
    if (Date.now() < (this.nextRollbackAt.get(key) ?? 0)) return;
    const accepted =
      document.acceptNoRollbackZones.includes(zone.zoneId) && zone.previousVersionId === '';
    try {
      const { rollback } = await this.peers.rollback.rollback(
        {
          zoneId: zone.zoneId,
          // The full evidence stays on the deployment; the rollback record gets its start.
          reason: `deployment ${document.id}: ${document.failureReason}`.slice(0, maxReasonLength),
          actor: `deployment:${document.id}`,
          expectedActiveVersionId: zone.policySetVersionId,
          idempotencyKey: `deployment:${document.id}:rollback:${zone.zoneId}`,
          waitForConvergence: true,
          trigger:
            document.rollbackCause === 'rollback_manual'
              ? ActivationTrigger.ROLLBACK_MANUAL
              : ActivationTrigger.ROLLBACK_VERDICT,
        },
        // A shutdown cancels the call; the next runner repeats it with the same key.
        { signal: this.stopping.signal },
      );
      const outcome = rollback?.outcome ?? RollbackOutcome.UNSPECIFIED;
      if (outcome === RollbackOutcome.ROLLED_BACK || outcome === RollbackOutcome.DUPLICATE) {
        await this.apply(document.id, (d, now) =>
          transitions.zoneRollbackDone(
            d,
            zone.zoneId,
            {
              state: 'rolled_back',
              rollbackId: rollback?.rollbackId ?? '',
              rolledBackTo: rollback?.toPolicySetVersionId ?? '',
              detail: `back on ${rollback?.toPolicySetVersionId ?? 'its last known good version'}`,
            },
            now,
          ),
        );
      } else if (outcome === RollbackOutcome.SKIPPED_NOT_ACTIVE) {
        await this.apply(document.id, (d, now) =>
          transitions.zoneRollbackDone(
            d,
            zone.zoneId,
            {
              state: 'rollback_skipped',
              rollbackId: rollback?.rollbackId ?? '',
              detail: 'no longer served the deployed version',
            },
            now,
          ),
        );
      } else {
        await this.retry(
          document,
          zone,
          `rollback answered ${RollbackOutcome[outcome] ?? outcome}`,
        );
      }
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      if (!(error instanceof DeployError)) throw error;
      const final =
        error.code === 'failed_precondition' ||
        error.code === 'not_found' ||
        error.code === 'invalid_argument';
      if (final && accepted) {
        await this.apply(document.id, (d, now) =>
          transitions.zoneRollbackDone(
            d,
            zone.zoneId,
            {
              state: 'rollback_skipped',
              detail: `no version to roll back to (accepted at pre-flight): ${error.message}`,
            },
            now,
          ),
        );
      } else if (final) {
        await this.apply(document.id, (d, now) =>
          transitions.zoneRollbackDone(
            d,
            zone.zoneId,
            { state: 'rollback_failed', detail: error.message },
            now,
          ),
        );
      } else {
        await this.retry(document, zone, error.message);
      }
    }
  }

  private async retry(
    document: DeploymentDocument,
    zone: ZoneRecord,
    error: string,
  ): Promise<void> {
    const attempt = zone.rollbackAttempts + 1;
    if (attempt >= this.config.deployments.rollbackAttempts) {
      await this.apply(document.id, (d, now) =>
        transitions.zoneRollbackDone(
          d,
          zone.zoneId,
          { state: 'rollback_failed', detail: `gave up after ${attempt} attempts: ${error}` },
          now,
        ),
      );
      return;
    }
    this.nextRollbackAt.set(
      `${document.id}/${zone.zoneId}`,
      Date.now() + Math.min(250 * 2 ** attempt, 5_000),
    );
    await this.apply(document.id, (d, now) =>
      transitions.zoneRollbackRetry(d, zone.zoneId, error, now),
    );
  }
}
