import { readFileSync } from 'node:fs';

import type { DynamicModule, Type } from '@nestjs/common';
import { GrpcModule, type HealthIndicator, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

/** Options of {@link serviceModules}. */
export interface ServiceModulesOptions {
  /** The service's name, as health and metrics report it. */
  readonly service: string;
  /** The app's `package.json`, whose version health reports. */
  readonly packageJson: URL;
  /** `host:port` of the gRPC server. */
  readonly grpcAddress: string;
  /** Port of the `/metrics` endpoint. */
  readonly metricsPort: number;
  /** The health indicator providers, in report order. */
  readonly healthIndicators: readonly Type<HealthIndicator>[];
}

/** The gRPC server, `/metrics` endpoint and health service that every service runs. */
export function serviceModules(options: ServiceModulesOptions): DynamicModule[] {
  const { version } = JSON.parse(readFileSync(options.packageJson, 'utf8')) as { version: string };
  return [
    GrpcModule.forRoot({ address: options.grpcAddress }),
    MetricsModule.forRoot({ service: options.service, port: options.metricsPort }),
    HealthModule.forRoot({
      info: { service: options.service, version },
      indicators: [...options.healthIndicators],
      indicatorTokens: [...options.healthIndicators],
    }),
  ];
}
