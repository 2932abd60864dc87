import { type DynamicModule, Inject, Injectable, Module } from '@nestjs/common';
import { CoreHost, HostedCoreModule, serviceModules } from '@caracal-deploy/service-host';

import type { StsConfig } from './config/sts.config.js';
import { DECISION_ENGINE, StsGrpcService } from './decision/sts.grpc-service.js';
import { PolicyHealthIndicator } from './health/policy.health-indicator.js';
import { STS_CORE, StsCore } from './sts-core.js';

/** Starts the STS core (bundles, invalidations, token endpoint) with the app and stops it at shutdown. */
@Injectable()
export class StsCoreHost extends CoreHost<StsCore> {
  constructor(@Inject(STS_CORE) core: StsCore) {
    super(core);
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
        ...serviceModules({
          service: 'sts',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [PolicyHealthIndicator],
        }),
        HostedCoreModule.forRoot({
          token: STS_CORE,
          create: (registry) => StsCore.create(config, registry),
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
