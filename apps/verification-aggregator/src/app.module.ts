import { readFileSync } from 'node:fs';
import { type DynamicModule, Module } from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

import type { VerifierConfig } from './config/verifier.config.js';
import { CoreModule } from './core.module.js';
import { CoordinatorHealthIndicator } from './health/coordinator.health-indicator.js';
import { KafkaHealthIndicator } from './health/kafka.health-indicator.js';
import { PostgresHealthIndicator } from './health/postgres.health-indicator.js';
import { ProbeIntake } from './probes/probe-intake.js';
import { StageJudge } from './verdict/stage-judge.js';
import { VerdictEvents } from './verdict/verdict-events.js';
import { VerificationGrpcService } from './verification.grpc-service.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Root module of verification-aggregator. */
@Module({})
export class AppModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: VerifierConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        GrpcModule.forRoot({ address: config.grpcAddress }),
        MetricsModule.forRoot({ service: 'verification-aggregator', port: config.metricsPort }),
        HealthModule.forRoot({
          info: { service: 'verification-aggregator', version },
          indicators: [PostgresHealthIndicator, KafkaHealthIndicator, CoordinatorHealthIndicator],
          indicatorTokens: [
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
