import { type DynamicModule, Module } from '@nestjs/common';
import { serviceModules } from '@caracal-deploy/service-host';

import type { VerifierConfig } from './config/verifier.config.js';
import { CoreModule } from './core.module.js';
import { CoordinatorHealthIndicator } from './health/coordinator.health-indicator.js';
import { KafkaHealthIndicator } from './health/kafka.health-indicator.js';
import { PostgresHealthIndicator } from './health/postgres.health-indicator.js';
import { ProbeIntake } from './probes/probe-intake.js';
import { StageJudge } from './verdict/stage-judge.js';
import { VerdictEvents } from './verdict/verdict-events.js';
import { VerificationGrpcService } from './verification.grpc-service.js';

/** Root module of verification-aggregator. */
@Module({})
export class AppModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: VerifierConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ...serviceModules({
          service: 'verification-aggregator',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [
            PostgresHealthIndicator,
            KafkaHealthIndicator,
            CoordinatorHealthIndicator,
          ],
        }),
      ],
      providers: [VerdictEvents, StageJudge, ProbeIntake, VerificationGrpcService],
    };
  }
}
