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

import type { GatewayConfig } from './config/gateway.config.js';
import { GATEWAY_CORE, GatewayCore } from './gateway-core.js';
import { StsHealthIndicator } from './health/sts.health-indicator.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Starts the Gateway core (keys, proxy) with the app and stops it at shutdown. */
@Injectable()
export class GatewayCoreHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(GATEWAY_CORE) readonly core: GatewayCore) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.core.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.core.stop();
  }

  /** Port of the proxy (useful when configured as 0). */
  get httpPort(): number {
    return this.core.http.port;
  }
}

/** Provides the Gateway's {@link GatewayCore} to the whole app (the health indicator included). */
@Module({})
export class GatewayCoreModule {
  /** Builds the core from the validated configuration. */
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayCoreModule,
      global: true,
      providers: [
        {
          provide: GATEWAY_CORE,
          inject: [METRICS_REGISTRY],
          useFactory: (registry: Registry) => new GatewayCore(config, registry),
        },
      ],
      exports: [GATEWAY_CORE],
    };
  }
}

/** Root module of the Gateway. */
@Module({})
export class AppModule {
  /** Wires the Gateway from its validated configuration. */
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        GrpcModule.forRoot({ address: config.grpcAddress }),
        GatewayCoreModule.forRoot(config),
        MetricsModule.forRoot({ service: 'gateway', port: config.metricsPort }),
        HealthModule.forRoot({
          info: { service: 'gateway', version },
          indicators: [StsHealthIndicator],
          indicatorTokens: [StsHealthIndicator],
        }),
      ],
      providers: [GatewayCoreHost],
    };
  }
}
