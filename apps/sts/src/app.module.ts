import { readFileSync } from 'node:fs';
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { METRICS_REGISTRY, MetricsModule } from '@caracal-deploy/metrics';
import type { Registry } from 'prom-client';

import type { StsConfig } from './config/sts.config.js';
import { DECISION_ENGINE, StsGrpcService } from './decision/sts.grpc-service.js';
import { PolicyHealthIndicator } from './health/policy.health-indicator.js';
import { STS_CORE, StsCore } from './sts-core.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Starts the STS core (bundles, invalidations, token endpoint) with the app and stops it at shutdown. */
@Injectable()
export class StsCoreHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(STS_CORE) readonly core: StsCore) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.core.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.core.stop();
  }

  /** Port of the token endpoint (useful when configured as 0). */
  get httpPort(): number {
    return this.core.http.port;
  }
}

/** Provides the replica's {@link StsCore} to the whole app (the health indicator included). */
@Module({})
export class StsCoreModule {
  /** Builds the core from the validated configuration. */
  static forRoot(config: StsConfig): DynamicModule {
    return {
      module: StsCoreModule,
      global: true,
      providers: [
        {
          provide: STS_CORE,
          inject: [METRICS_REGISTRY],
          useFactory: (registry: Registry) => StsCore.create(config, registry),
        },
      ],
      exports: [STS_CORE],
    };
  }
}

/** Root module of the STS. */
@Module({})
export class AppModule {
  /** Wires the STS from its validated configuration. */
  static forRoot(config: StsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        GrpcModule.forRoot({ address: config.grpcAddress }),
        StsCoreModule.forRoot(config),
        MetricsModule.forRoot({ service: 'sts', port: config.metricsPort }),
        HealthModule.forRoot({
          info: { service: 'sts', version },
          indicators: [PolicyHealthIndicator],
          indicatorTokens: [PolicyHealthIndicator],
        }),
      ],
      providers: [
        {
          provide: DECISION_ENGINE,
          inject: [STS_CORE],
          useFactory: (core: StsCore) => core.engine,
        },
        StsCoreHost,
        StsGrpcService,
      ],
    };
  }
}
