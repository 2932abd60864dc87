import { readFileSync } from 'node:fs';
import { type DynamicModule, Module } from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

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

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Root module of the activation coordinator. */
@Module({})
export class AppModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: CoordinatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        MetricsModule.forRoot({ service: 'activation-coordinator', port: config.metricsPort }),
        CoreModule.forRoot(config),
        GrpcModule.forRoot({ address: config.grpcAddress }),
        HealthModule.forRoot({
          info: { service: 'activation-coordinator', version },
          indicators: [PostgresHealthIndicator, RedisHealthIndicator],
          indicatorTokens: [PostgresHealthIndicator, RedisHealthIndicator],
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
