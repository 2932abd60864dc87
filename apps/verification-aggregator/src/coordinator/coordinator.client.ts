import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ActivationService } from '@caracal-deploy/contracts';
import { NotFoundError, UnavailableError, toDeployError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { normalizeRevision } from '../audit/audit-event.js';
import { VERIFIER_CONFIG, type VerifierConfig } from '../config/verifier.config.js';
import type { ZoneActivation } from '../verdict/verdict-rows.js';

/** The aggregator's view of the activation coordinator: each zone's activation and per-replica state. */
@Injectable()
export class CoordinatorClient implements OnApplicationShutdown {
  private readonly client: GrpcClient<typeof ActivationService>;
  private readonly address: string;

  constructor(@Inject(VERIFIER_CONFIG) config: VerifierConfig) {
    this.address = config.coordinatorAddress;
    this.client = createGrpcClient(ActivationService, config.coordinatorAddress, {
      defaultTimeoutMs: config.coordinatorTimeoutMs,
    });
  }

  /**
   * The activation's status as evidence: NOT_FOUND is an answer (the row
   * fails); any other failure means the evidence is not available yet.
   */
  async activation(zoneId: string, activationId: string): Promise<ZoneActivation> {
    try {
      const { status } = await this.client.getActivation({ activationId });
      if (status === undefined) {
        return {
          zoneId,
          activationId,
          kind: 'not_found',
          message: 'the coordinator returned no status',
        };
      }
      return { zoneId, activationId, kind: 'status', status };
    } catch (thrown) {
      const error = toDeployError(thrown);
      if (error instanceof NotFoundError) {
        return { zoneId, activationId, kind: 'not_found', message: error.message };
      }
      return {
        zoneId,
        activationId,
        kind: 'unavailable',
        message: `activation coordinator at ${this.address}: ${error.code}: ${error.message}`,
      };
    }
  }

  /**
   * What the zone must serve now (revision and version), undefined when it has
   * no active version. Throws when the coordinator cannot be asked.
   */
  async activeBinding(
    zoneId: string,
  ): Promise<{ revision: string; policySetVersionId: string } | undefined> {
    const { binding } = await this.client.getActiveBinding({ zoneId });
    return binding === undefined
      ? undefined
      : {
          revision: normalizeRevision(binding.manifestSha256),
          policySetVersionId: binding.policySetVersionId,
        };
  }

  /** Health: the coordinator answers a read. */
  async check(signal: AbortSignal): Promise<string> {
    try {
      await this.client.getActiveBinding(
        { zoneId: 'caracal-verification-health-probe' },
        { signal },
      );
    } catch (thrown) {
      const error = toDeployError(thrown);
      // Only reachability matters here; "no such zone" is a healthy answer.
      if (['unavailable', 'deadline_exceeded', 'cancelled', 'internal'].includes(error.code)) {
        throw new UnavailableError(
          `activation coordinator at ${this.address} is unavailable: ${error.message}`,
          { cause: thrown },
        );
      }
    }
    return `activation coordinator at ${this.address}`;
  }

  onApplicationShutdown(): void {
    this.client.close();
  }
}
