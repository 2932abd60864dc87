import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type ActivateRequestSchema,
  type ActivateResponse,
  ActivationService,
  ActivationState,
  type ActivationStatus,
  type GetLastKnownGoodResponse,
} from '@caracal-deploy/contracts';
import { type DeployError, UnavailableError, toDeployError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { ROLLBACK_CONFIG, type RollbackConfig } from '../config/rollback.config.js';

/** States after which an activation's status no longer changes. */
const finalStates: ReadonlySet<ActivationState> = new Set([
  ActivationState.CONVERGED,
  ActivationState.STALLED,
  ActivationState.DEAD_LETTERED,
  ActivationState.SUPERSEDED,
]);

/** True when `state` is one a watch ends on. */
export function isFinalState(state: ActivationState): boolean {
  return finalStates.has(state);
}

/**
 * Failures of the coordinator itself (down, too slow, broken) become
 * {@link UnavailableError}: the caller may retry and nothing was recorded.
 * Answers about the request (not found, failed precondition, …) pass through.
 */
function asCoordinatorError(address: string, thrown: unknown): DeployError {
  const error = toDeployError(thrown);
  if (['unavailable', 'deadline_exceeded', 'internal', 'cancelled'].includes(error.code)) {
    return new UnavailableError(
      `activation coordinator at ${address} is unavailable: ${error.message}`,
      { cause: thrown, details: { coordinator: address } },
    );
  }
  return error;
}

/** rollback-controller's one dependency besides its database: the activation coordinator. */
@Injectable()
export class CoordinatorClient implements OnApplicationShutdown {
  private readonly client: GrpcClient<typeof ActivationService>;
  private readonly address: string;
  private readonly timeoutMs: number;

  constructor(@Inject(ROLLBACK_CONFIG) config: RollbackConfig) {
    this.address = config.coordinatorAddress;
    this.timeoutMs = config.coordinatorTimeoutMs;
    this.client = createGrpcClient(ActivationService, config.coordinatorAddress, {
      defaultTimeoutMs: config.coordinatorTimeoutMs,
    });
  }

  /** The zone's current binding and the version a rollback activates. */
  async lastKnownGood(zoneId: string): Promise<GetLastKnownGoodResponse> {
    return this.call(() => this.client.getLastKnownGood({ zoneId }));
  }

  /** Activates through the coordinator's compare-and-set path. */
  async activate(
    request: MessageInitShape<typeof ActivateRequestSchema>,
  ): Promise<ActivateResponse> {
    return this.call(() => this.client.activate(request));
  }

  /** The activation's current status. */
  async status(activationId: string): Promise<ActivationStatus | undefined> {
    const response = await this.call(() => this.client.getActivation({ activationId }));
    return response.status;
  }

  /**
   * Follows the activation until it reaches a final state or `timeoutMs`
   * passes; resolves with the last status seen (undefined when none arrived).
   */
  async waitForFinalState(
    activationId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ActivationStatus | undefined> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const stop = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
    let last: ActivationStatus | undefined;
    try {
      for await (const message of this.client.watchActivation({ activationId }, { signal: stop })) {
        last = message.status;
        if (last !== undefined && isFinalState(last.state)) break;
      }
    } catch (error) {
      // Running out of time is an answer (the last status); anything else is a failure.
      if (!deadline.aborted) throw asCoordinatorError(this.address, error);
    }
    return last;
  }

  /** Health: the coordinator answers a read within the call timeout. */
  async check(signal: AbortSignal): Promise<string> {
    await this.call(() =>
      this.client.getActiveBinding(
        { zoneId: 'caracal-rollback-health-probe' },
        { signal, timeoutMs: this.timeoutMs },
      ),
    ).catch((error: unknown) => {
      // Only reachability matters here; "no such zone" is a healthy answer.
      if (error instanceof UnavailableError) throw error;
    });
    return `activation coordinator at ${this.address}`;
  }

  onApplicationShutdown(): void {
    this.client.close();
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw asCoordinatorError(this.address, error);
    }
  }
}
