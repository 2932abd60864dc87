import { setTimeout as delay } from 'node:timers/promises';

import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ActivationState } from '@caracal-deploy/contracts';
import { NotFoundError } from '@caracal-deploy/errors';
import { readReplicaStatuses, type ReplicaStatus } from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';

import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { COORDINATOR_REDIS } from '../redis.tokens.js';
import { judgeActivation, type JudgedActivation } from './activation-status.js';
import { ActivationRepository, type ActivationWithOutbox } from './activation.repository.js';

/** Open activations judged per pass of the tracker (at most one per zone is open). */
const trackBatch = 500;

/** States of open activations, as the `state` label of the open-activations gauge. */
const gaugeStates: readonly (readonly [ActivationState, string])[] = [
  [ActivationState.DISPATCHING, 'dispatching'],
  [ActivationState.CONVERGING, 'converging'],
  [ActivationState.STALLED, 'stalled'],
  [ActivationState.DEAD_LETTERED, 'dead_lettered'],
];

const fingerprint = (judged: JudgedActivation): string =>
  JSON.stringify(judged.status, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );

/**
 * Judges activations against the replicas' reports: on request (GetActivation,
 * WatchActivation, ListActivations) and in a background pass over open
 * activations, so convergence is recorded, and the propagation metric observed,
 * exactly once per activation even when nobody watches.
 */
@Injectable()
export class ActivationMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ActivationMonitor');
  private readonly stopping = new AbortController();
  private tracking: Promise<void> | undefined;

  constructor(
    private readonly repository: ActivationRepository,
    private readonly metrics: CoordinatorMetrics,
    @Inject(COORDINATOR_REDIS) private readonly redis: Redis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.tracking = this.track();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.tracking;
  }

  /** The activation's current status; {@link NotFoundError} when there is no such activation. */
  async status(activationId: string): Promise<JudgedActivation> {
    const row = await this.repository.get(activationId);
    if (!row) throw new NotFoundError(`activation ${activationId} does not exist`);
    return this.judge(row, await this.replicas(row.zone_id));
  }

  /** Judges a row read elsewhere (history pages), reading replicas only when the rollout is open. */
  async judgeRow(row: ActivationWithOutbox): Promise<JudgedActivation> {
    return this.judge(row, row.outcome === null ? await this.replicas(row.zone_id) : []);
  }

  /** Yields the status on every change until a terminal state (yielded last) or `signal` aborts. */
  async *watch(activationId: string, signal: AbortSignal): AsyncGenerator<JudgedActivation> {
    let last = '';
    while (!signal.aborted) {
      const judged = await this.status(activationId);
      const current = fingerprint(judged);
      if (current !== last) {
        last = current;
        yield judged;
      }
      if (judged.terminal) return;
      try {
        await delay(this.config.convergence.progressIntervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  private async judge(
    row: ActivationWithOutbox,
    replicas: readonly ReplicaStatus[] | null,
  ): Promise<JudgedActivation> {
    const judged = judgeActivation(row, replicas, new Date(), this.config.convergence);
    if (judged.newlyConverged && judged.propagationMs !== null) {
      if (await this.repository.recordConverged(row.id, judged.propagationMs))
        this.metrics.propagationSeconds.observe(judged.propagationMs / 1000);
    }
    return judged;
  }

  /** Every replica's report for the zone; `null` when Redis cannot be read right now. */
  private async replicas(zoneId: string): Promise<ReplicaStatus[] | null> {
    try {
      return await readReplicaStatuses(this.redis, zoneId);
    } catch {
      return null;
    }
  }

  private async track(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const ids = await this.repository.openActivationIds(trackBatch);
        const counts = new Map<ActivationState, number>();
        for (const id of ids) {
          if (signal.aborted) break;
          const { state } = await this.status(id);
          counts.set(state, (counts.get(state) ?? 0) + 1);
        }
        for (const [state, label] of gaugeStates)
          this.metrics.openActivations.set({ state: label }, counts.get(state) ?? 0);
      } catch (error) {
        this.logger.warn(
          `tracking open activations failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      try {
        await delay(this.config.convergence.progressIntervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }
}
