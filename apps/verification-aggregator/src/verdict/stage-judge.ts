import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';

import { VERIFIER_CONFIG, type VerifierConfig } from '../config/verifier.config.js';
import { CoordinatorClient } from '../coordinator/coordinator.client.js';
import { VerificationRepository, type StageRecord } from '../database/verification.repository.js';
import { VerdictEvents, stageKey } from './verdict-events.js';
import { specOf } from './verdict-message.js';
import { judgeStage } from './verdict-rows.js';
import { VerifierMetrics } from './verifier-metrics.js';

/** How often stored probe results past their retention are deleted. */
const cleanupEveryMs = 10 * 60_000;

/**
 * Judges every pending stage from stored state: on a timer, right after a
 * stage starts, and soon after a probe of one of its zones is classified.
 * Everything it reads lives in PostgreSQL or the coordinator, so a restarted
 * aggregator (or another replica) carries on mid-bake where this one stopped.
 */
@Injectable()
export class StageJudge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StageJudge');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastCleanup = 0;

  constructor(
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
    private readonly repository: VerificationRepository,
    private readonly coordinator: CoordinatorClient,
    private readonly events: VerdictEvents,
    private readonly metrics: VerifierMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The verdict gauge starts from the stored verdicts, so a restart does not hide a failure.
    const seen = new Set<string>();
    for (const stage of await this.repository.latestStagePerZone()) {
      const zones = stage.zones
        .map((zone) => zone.zoneId)
        .filter((zone) => !seen.has(stageKey(zone, stage.stage)));
      for (const zone of zones) seen.add(stageKey(zone, stage.stage));
      if (zones.length > 0) this.metrics.verdict(zones, stage.stage, stage.state);
    }
    this.schedule(0);
  }

  onApplicationShutdown(): Promise<void> | undefined {
    this.stopped = true;
    clearTimeout(this.timer);
    return this.running;
  }

  /** Asks for a judgement of every pending stage as soon as the current one ends. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Judges one stage now and stores the verdict when it changed; returns the stored stage. */
  async judge(stage: StageRecord): Promise<StageRecord> {
    if (stage.state !== 'pending') return stage;
    const activations = await Promise.all(
      stage.zones.map((zone) => this.coordinator.activation(zone.zoneId, zone.activationId)),
    );
    const probes = await this.repository.probesOf(
      stage.zones.map((zone) => zone.zoneId),
      stage.regions,
      stage.startedAt,
    );
    const judgement = judgeStage(specOf(stage), { activations, probes, nowMs: Date.now() });
    if (
      judgement.state === stage.state &&
      JSON.stringify(judgement.rows) === JSON.stringify(stage.rows)
    ) {
      return stage;
    }
    const { record, changed } = await this.repository.storeJudgement(stage, {
      state: judgement.state,
      rows: judgement.rows,
      decidedAt: judgement.decidedAtMs === undefined ? null : new Date(judgement.decidedAtMs),
    });
    const current = record ?? stage;
    if (changed) {
      this.metrics.verdict(
        current.zones.map((zone) => zone.zoneId),
        current.stage,
        current.state,
      );
      if (current.state !== 'pending') {
        const failing = current.rows.filter((row) => row.state === 'fail').map((row) => row.check);
        this.logger.log(
          `stage ${current.deploymentId}/${current.stage}: ${current.state}${failing.length > 0 ? ` (${failing.join(', ')})` : ''}`,
        );
      }
    }
    this.events.changed(stageKey(current.deploymentId, current.stage));
    return current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.config.evaluateIntervalMs);
      });
    }, delayMs);
  }

  private async round(): Promise<void> {
    try {
      for (const stage of await this.repository.pendingStages()) {
        if (this.stopped) return;
        await this.judge(stage).catch((error: unknown) =>
          this.logger.warn(
            `judging ${stage.deploymentId}/${stage.stage} failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      }
      if (Date.now() - this.lastCleanup > cleanupEveryMs) {
        this.lastCleanup = Date.now();
        const deleted = await this.repository.deleteProbesBefore(
          new Date(Date.now() - this.config.probeRetentionMs),
        );
        if (deleted > 0) this.logger.log(`deleted ${deleted} probe results past retention`);
      }
    } catch (error) {
      this.logger.warn(
        `judging pending stages failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
