import { type DynamicModule, Inject, Injectable, Module } from '@nestjs/common';
import { CoreHost, HostedCoreModule, serviceModules } from '@caracal-deploy/service-host';

import type { GatewayConfig } from './config/gateway.config.js';
import { GATEWAY_CORE, GatewayCore } from './gateway-core.js';
import { StsHealthIndicator } from './health/sts.health-indicator.js';

/** Starts the Gateway core (keys, proxy) with the app and stops it at shutdown. */
@Injectable()
export class GatewayCoreHost extends CoreHost<GatewayCore> {
  constructor(@Inject(GATEWAY_CORE) core: GatewayCore) {
    super(core);
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
        ...serviceModules({
          service: 'gateway',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [StsHealthIndicator],
        }),
        HostedCoreModule.forRoot({
          token: GATEWAY_CORE,
          create: (registry) => new GatewayCore(config, registry),
        }),
      ],
      providers: [GatewayCoreHost],
    };
  }
}
