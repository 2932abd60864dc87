import { readFileSync } from 'node:fs';
import { type DynamicModule, Module } from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

import type { ValidatorConfig } from './config/validator.config.js';
import { OPA_BIN, OpaHealthIndicator } from './health/opa.health-indicator.js';

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
    };
  }
}
