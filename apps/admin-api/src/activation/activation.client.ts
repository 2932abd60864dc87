import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type ActivateRequestSchema,
  type ActivateResponse,
  ActivationService,
  type ActivationStatus,
  type GetLastKnownGoodResponse,
  type ListActivationsResponse,
  type ListRollbacksResponse,
  type RollbackRequestSchema,
  type RollbackResponse,
  RollbackService,
} from '@caracal-deploy/contracts';
import { type DeployError, errorFromCode } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import { asDependencyError } from '../simulation/simulation.client.js';

/** An Activate request as admin-api builds it. */
export type ActivateRequestInit = MessageInitShape<typeof ActivateRequestSchema>;
/** A Rollback request as admin-api builds it. */
export type RollbackRequestInit = MessageInitShape<typeof RollbackRequestSchema>;

/**
 * Wire field names of the coordinator and rollback-controller requests → the
 * names the REST caller used (path, query, body), so a 400 names what the
 * caller sent: `zone_id` → `zone`, `page_token` → `cursor`, the deploy request's
 * `options.reason` → `reason`, `zone_versions[0].zone_id` → `zone_versions[0].zone`.
 */
const restFieldOf: Readonly<Record<string, string>> = {
  zone_id: 'zone',
  activation_id: 'activation',
  deployment_id: 'deployment',
  page_size: 'limit',
  page_token: 'cursor',
};

/** The REST name of a wire field (see {@link restFieldOf}). */
export function restField(field: string): string {
  const renamed = restFieldOf[field];
  if (renamed !== undefined) return renamed;
  return field.replace(/^options\./, '').replace(/\.zone_id$/, '.zone');
}

/**
 * A dependency's error as the REST caller should see it: 503 naming the
 * dependency when it cannot serve, and violations renamed to the REST fields.
 */
export function asCallerError(error: unknown, dependency: string): DeployError {
  const typed = asDependencyError(error, dependency);
  if (typed.violations.every((violation) => restField(violation.field) === violation.field)) {
    return typed;
  }
  return errorFromCode(typed.code, typed.message, {
    cause: typed,
    details: typed.details,
    violations: typed.violations.map((violation) => ({
      field: restField(violation.field),
      problem: violation.problem,
    })),
  });
}

/**
 * admin-api's view of the activation coordinator's ActivationService and the
 * rollback-controller's RollbackService. Failures arrive as the closed error
 * set; a dependency that cannot serve is `unavailable` (HTTP 503) naming it.
 */
@Injectable()
export class ActivationClient implements OnApplicationShutdown {
  private readonly activation: GrpcClient<typeof ActivationService>;
  private readonly rollbacks: GrpcClient<typeof RollbackService>;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.activation = createGrpcClient(ActivationService, config.coordinatorAddress, {
      defaultTimeoutMs: config.coordinatorTimeoutMs,
    });
    this.rollbacks = createGrpcClient(RollbackService, config.rollbackAddress, {
      defaultTimeoutMs: config.rollbackTimeoutMs,
    });
  }

  /** Activates a version in a zone (compare-and-set, idempotent by key). */
  async activate(request: ActivateRequestInit): Promise<ActivateResponse> {
    return this.coordinator(() => this.activation.activate(request));
  }

  /** An activation with its outbox and per-replica progress. */
  async status(activationId: string): Promise<ActivationStatus> {
    const { status } = await this.coordinator(() =>
      this.activation.getActivation({ activationId }),
    );
    if (status === undefined) throw new Error('the activation coordinator answered no status');
    return status;
  }

  /** The status on every change until it is final; the last message has the final state. */
  async *watch(activationId: string, signal: AbortSignal): AsyncGenerator<ActivationStatus> {
    try {
      for await (const message of this.activation.watchActivation({ activationId }, { signal })) {
        if (message.status !== undefined) yield message.status;
      }
    } catch (error) {
      throw asCallerError(error, 'activation-coordinator');
    }
  }

  /** A page of the zone's activation history, newest first. */
  async history(
    zone: string,
    pageSize: number,
    pageToken: string,
  ): Promise<ListActivationsResponse> {
    return this.coordinator(() =>
      this.activation.listActivations({ zoneId: zone, pageSize, pageToken }),
    );
  }

  /** The zone's current binding and the version a rollback would activate. */
  async lastKnownGood(zone: string): Promise<GetLastKnownGoodResponse> {
    return this.coordinator(() => this.activation.getLastKnownGood({ zoneId: zone }));
  }

  /** Rolls a zone back to its last known good version. */
  async rollback(request: RollbackRequestInit): Promise<RollbackResponse> {
    try {
      return await this.rollbacks.rollback(request);
    } catch (error) {
      throw asCallerError(error, 'rollback-controller');
    }
  }

  /** A page of the rollback record (one zone, or every zone for ""), newest first. */
  async listRollbacks(
    zone: string,
    pageSize: number,
    pageToken: string,
  ): Promise<ListRollbacksResponse> {
    try {
      return await this.rollbacks.listRollbacks({ zoneId: zone, pageSize, pageToken });
    } catch (error) {
      throw asCallerError(error, 'rollback-controller');
    }
  }

  onApplicationShutdown(): void {
    this.activation.close();
    this.rollbacks.close();
  }

  private async coordinator<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw asCallerError(error, 'activation-coordinator');
    }
  }
}
