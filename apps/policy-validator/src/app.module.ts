import { readFileSync } from 'node:fs';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

import type { ValidatorConfig } from './config/validator.config.js';
import { OPA_BIN, OpaHealthIndicator } from './health/opa.health-indicator.js';
import {
  VALIDATION_PIPELINE,
  ValidationGrpcService,
} from './validation/validation.grpc-service.js';
import { ValidationPipeline } from './validation/validation-pipeline.js';
import {
  SIMULATION_OPTIONS,
  SimulationGrpcService,
  type SimulationOptions,
} from './simulation/simulation.grpc-service.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Root module of the policy-validator service. */
@Module({})
export class AppModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: ValidatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        GrpcModule.forRoot({ address: config.grpcAddress }),
        MetricsModule.forRoot({ service: 'policy-validator', port: config.metricsPort }),
        HealthModule.forRoot({
          info: { service: 'policy-validator', version },
          indicators: [{ provide: OPA_BIN, useValue: config.opaBin }, OpaHealthIndicator],
          indicatorTokens: [OpaHealthIndicator],
        }),
      ],
      providers: [
        {
          provide: VALIDATION_PIPELINE,
          useFactory: () => {
            const logger = new Logger('ValidationPipeline');
            return new ValidationPipeline({
              opaBin: config.opaBin,
              signing: config.signing,
              deprecatedTerms: config.deprecatedTerms,
              warn: (message) => logger.warn(message),
            });
          },
        },
        ValidationGrpcService,
        {
          provide: SIMULATION_OPTIONS,
          useValue: {
            kafkaBrokers: config.kafkaBrokers,
            decisionLogTopic: config.decisionLogTopic,
            maxCases: config.maxSimulationCases,
            replayWorkers: config.replayWorkers,
            signingKeyId: config.signing.keyId,
          } satisfies SimulationOptions,
        },
        SimulationGrpcService,
      ],
    };
  }
}
