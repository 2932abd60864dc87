import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationService,
  type ActiveBinding,
  type ReplayRequestSchema,
  type ReplayResponse,
  type SimulateRequestSchema,
  type SimulateResponse,
  SimulationService,
} from '@caracal-deploy/contracts';
import { type DeployError, UnavailableError, toDeployError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import { PayloadTooLargeError } from '../http/http-errors.js';

/** A Simulate request as admin-api builds it. */
export type SimulateRequestInit = MessageInitShape<typeof SimulateRequestSchema>;
/** A Replay request as admin-api builds it. */
export type ReplayRequestInit = MessageInitShape<typeof ReplayRequestSchema>;

/**
 * admin-api's view of simulation: the policy-validator's SimulationService, and
 * the activation coordinator's `GetActiveBinding`, which names the bundle a zone
 * serves (the "live" side of a comparison). Failures arrive as the closed error
 * set; a dependency that cannot serve the call is `unavailable` (HTTP 503).
 */
@Injectable()
export class SimulationClient implements OnApplicationShutdown {
  private readonly simulation: GrpcClient<typeof SimulationService>;
  private readonly activation: GrpcClient<typeof ActivationService>;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.simulation = createGrpcClient(SimulationService, config.validatorAddress, {
      defaultTimeoutMs: config.validatorTimeoutMs,
    });
    this.activation = createGrpcClient(ActivationService, config.coordinatorAddress, {
      defaultTimeoutMs: 10_000,
    });
  }

  /** Runs declared cases on the validator. */
  async simulate(request: SimulateRequestInit): Promise<SimulateResponse> {
    try {
      return await this.simulation.simulate(request);
    } catch (error) {
      throw asDependencyError(error, 'policy-validator');
    }
  }

  /** Streams a replay from the validator: progress messages, then the report. */
  async *replay(request: ReplayRequestInit, signal: AbortSignal): AsyncGenerator<ReplayResponse> {
    try {
      yield* this.simulation.replay(request, { signal });
    } catch (error) {
      throw asDependencyError(error, 'policy-validator');
    }
  }

  /** The binding the zone serves now, or undefined when it has no active version. */
  async activeBinding(zone: string): Promise<ActiveBinding | undefined> {
    try {
      return (await this.activation.getActiveBinding({ zoneId: zone })).binding;
    } catch (error) {
      throw asDependencyError(error, 'activation-coordinator');
    }
  }

  onApplicationShutdown(): void {
    this.simulation.close();
    this.activation.close();
  }
}

/**
 * A dependency that is down or lacks the RPC is a 503 naming it; a batch over
 * the validator's case limit is a 413 with that limit; everything else (bad
 * input naming the field, deadline) passes through.
 */
export function asDependencyError(error: unknown, dependency: string): DeployError {
  const typed = toDeployError(error);
  if (typed.code === 'unavailable' || typed.code === 'unimplemented') {
    return new UnavailableError(`${dependency} is unavailable: ${typed.message}`, {
      cause: typed,
      details: { ...typed.details, dependency },
    });
  }
  if (typed.code === 'resource_exhausted') {
    return new PayloadTooLargeError(typed.message, { cause: typed, details: typed.details });
  }
  return typed;
}
