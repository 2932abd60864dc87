import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  type InjectionToken,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { METRICS_REGISTRY } from '@caracal-deploy/metrics';
import type { Registry } from 'prom-client';

/** A service's core outside Nest: started with the app, stopped at shutdown, serving HTTP. */
export interface HostedCore {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly http: { readonly port: number };
}

/**
 * Starts the app's core at bootstrap and stops it before shutdown. Apps subclass
 * it to inject their core under its token.
 */
export abstract class CoreHost<Core extends HostedCore>
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  constructor(readonly core: Core) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.core.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.core.stop();
  }

  /** Port of the core's HTTP server (useful when configured as 0). */
  get httpPort(): number {
    return this.core.http.port;
  }
}

/** Options of {@link HostedCoreModule.forRoot}. */
export interface HostedCoreModuleOptions<Core extends HostedCore> {
  /** Token the core is provided (and exported) under. */
  readonly token: InjectionToken;
  /** Builds the core; it registers its metrics in `registry`. */
  readonly create: (registry: Registry) => Core | Promise<Core>;
}

/** Provides the app's core to the whole app (its health indicators included). */
@Module({})
export class HostedCoreModule {
  /** Builds the core with the service's metrics registry. */
  static forRoot<Core extends HostedCore>(options: HostedCoreModuleOptions<Core>): DynamicModule {
    return {
      module: HostedCoreModule,
      global: true,
      providers: [
        { provide: options.token, inject: [METRICS_REGISTRY], useFactory: options.create },
      ],
      exports: [options.token],
    };
  }
}
