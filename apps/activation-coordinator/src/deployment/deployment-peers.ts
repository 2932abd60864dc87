import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { RollbackService, VerificationService } from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';

/**
 * Clients of the services a deployment depends on: the verification
 * aggregator (stage verdicts) and the rollback controller (rolls touched zones
 * back). Channels connect lazily, so the coordinator starts while they are down.
 */
@Injectable()
export class DeploymentPeers implements OnApplicationShutdown {
  /** `caracal.deploy.v1.VerificationService` at `CARACAL_VERIFIER_GRPC_ADDRESS`. */
  readonly verifier: GrpcClient<typeof VerificationService>;
  /** `caracal.deploy.v1.RollbackService` at `CARACAL_ROLLBACK_GRPC_ADDRESS`. */
  readonly rollback: GrpcClient<typeof RollbackService>;

  constructor(@Inject(COORDINATOR_CONFIG) config: CoordinatorConfig) {
    this.verifier = createGrpcClient(VerificationService, config.deployments.verifierAddress, {
      defaultTimeoutMs: 10_000,
    });
    this.rollback = createGrpcClient(RollbackService, config.deployments.rollbackAddress, {
      defaultTimeoutMs: 60_000,
    });
  }

  onApplicationShutdown(): void {
    this.verifier.close();
    this.rollback.close();
  }
}
