import { type DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@caracal-deploy/service-host';

import { ActivationMonitor } from './activation/activation-monitor.js';
import { ActivationGrpcService } from './activation/activation.grpc-service.js';
import { VERIFICATION_VERDICTS } from './activation/last-known-good.js';
import type { CoordinatorConfig } from './config/coordinator.config.js';
import { CoreModule } from './core.module.js';
import { DeploymentPeers } from './deployment/deployment-peers.js';
import { DeploymentRunner } from './deployment/deployment-runner.js';
import { DeploymentGrpcService } from './deployment/deployment.grpc-service.js';
import { DeploymentRepository } from './deployment/deployment.repository.js';
import { Preflight } from './deployment/preflight.js';
import { PostgresHealthIndicator } from './health/postgres.health-indicator.js';
import { RedisHealthIndicator } from './health/redis.health-indicator.js';
import { OutboxHost } from './outbox/outbox.host.js';

/** Root module of the activation coordinator. */
@Module({})
export class AppModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: CoordinatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ...serviceModules({
          service: 'activation-coordinator',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [PostgresHealthIndicator, RedisHealthIndicator],
        }),
      ],
      providers: [
        // Stage verdicts recorded by deployments decide the last known good version.
        DeploymentRepository,
        { provide: VERIFICATION_VERDICTS, useExisting: DeploymentRepository },
        ActivationMonitor,
        OutboxHost,
        ActivationGrpcService,
        Preflight,
        DeploymentPeers,
        DeploymentRunner,
        DeploymentGrpcService,
        PostgresHealthIndicator,
        RedisHealthIndicator,
      ],
    };
  }
}
