import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type MessageInitShape, create, toBinary } from '@bufbuild/protobuf';
import {
  type BuildBundleResponse,
  BuildBundleRequestSchema,
  HealthService,
  type PolicySourceSchema,
  type ValidateResponse,
  ValidationService,
} from '@caracal-deploy/contracts';
import { type DeployError, UnavailableError, toDeployError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import { PayloadTooLargeError } from '../http/http-errors.js';

/** What admin-api sends the validator: one policy-set version's sources and the zone's catalog. */
export type PolicySourceInit = MessageInitShape<typeof PolicySourceSchema>;

/**
 * admin-api's view of the policy-validator: typed gRPC clients of its
 * ValidationService and HealthService. Failures arrive as the closed error set;
 * a validator that cannot serve the call at all is `unavailable` (HTTP 503).
 */
@Injectable()
export class ValidatorClient implements OnApplicationShutdown {
  private readonly validation: GrpcClient<typeof ValidationService>;
  private readonly health: GrpcClient<typeof HealthService>;
  private readonly maxMessageBytes: number;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.maxMessageBytes = config.validatorMaxMessageBytes;
    const options = { defaultTimeoutMs: config.validatorTimeoutMs };
    this.validation = createGrpcClient(ValidationService, config.validatorAddress, options);
    this.health = createGrpcClient(HealthService, config.validatorAddress, {
      defaultTimeoutMs: 5_000,
    });
  }

  /** Runs every check on `source`. */
  async validate(source: PolicySourceInit): Promise<ValidateResponse> {
    this.assertSendable(source, '');
    try {
      return await this.validation.validate({ source });
    } catch (error) {
      throw asDependencyError(error);
    }
  }

  /** Validates and, when valid, builds and signs the bundle with `revision`. */
  async buildBundle(source: PolicySourceInit, revision: string): Promise<BuildBundleResponse> {
    this.assertSendable(source, revision);
    try {
      return await this.validation.buildBundle({ source, revision });
    } catch (error) {
      throw asDependencyError(error);
    }
  }

  /** The validator's own health check (its OPA), for admin-api's health. */
  async check(signal: AbortSignal): Promise<string> {
    const response = await this.health.check({ components: [] }, { signal });
    const unhealthy = response.components.flatMap((component) =>
      component.outcome.case === 'unhealthy'
        ? [`${component.name}: ${component.outcome.value.reason}`]
        : [],
    );
    if (unhealthy.length > 0)
      throw new Error(`policy-validator unhealthy: ${unhealthy.join('; ')}`);
    return response.components
      .map((component) =>
        component.outcome.case === 'healthy' ? component.outcome.value.detail : component.name,
      )
      .join(', ');
  }

  /**
   * Refuses (413) a request the validator's gRPC server would reject for its
   * size, naming the size and the limit, before anything is sent.
   */
  private assertSendable(source: PolicySourceInit, revision: string): void {
    const size = toBinary(
      BuildBundleRequestSchema,
      create(BuildBundleRequestSchema, { source, revision }),
    ).length;
    if (size > this.maxMessageBytes) {
      throw new PayloadTooLargeError(
        `the policy sources are ${size} bytes; the policy-validator accepts at most ${this.maxMessageBytes} bytes per request`,
        { details: { size_bytes: String(size), limit_bytes: String(this.maxMessageBytes) } },
      );
    }
  }

  onApplicationShutdown(): void {
    this.validation.close();
    this.health.close();
  }
}

/**
 * A validator that lacks the RPC cannot validate anything for us: for the
 * caller that is the same as the validator being down (503), not a 501 of
 * admin-api's own route. Everything else (bad input, deadline) passes through.
 */
function asDependencyError(error: unknown): DeployError {
  const typed = toDeployError(error);
  if (typed.code === 'unimplemented') {
    return new UnavailableError(`policy-validator cannot serve the call: ${typed.message}`, {
      cause: typed,
      details: { dependency: 'policy-validator' },
    });
  }
  if (typed.code === 'unavailable') {
    return new UnavailableError(`validation is unavailable: ${typed.message}`, {
      cause: typed,
      details: { dependency: 'policy-validator', ...typed.details },
    });
  }
  return typed;
}
