import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Registry } from 'prom-client';

import { type MetricsServer, createMetricsRegistry, startMetricsServer } from './metrics-server.js';

/** Injection token of the service's prom-client {@link Registry}. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** Options of {@link MetricsModule.forRoot}. */
export interface MetricsModuleOptions {
  readonly service: string;
  readonly host?: string;
  readonly port: number;
}

const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

/** Starts and stops the service's `/metrics` endpoint with the app. */
@Injectable()
export class MetricsServerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: MetricsServer | undefined;

  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(METRICS_OPTIONS) private readonly options: MetricsModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.server = await startMetricsServer(this.registry, this.options);
    this.logger.log(`serving /metrics on port ${this.server.port}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }

  /** The bound port (useful when the options asked for port 0). */
  get port(): number {
    if (!this.server) throw new Error('metrics server has not started');
    return this.server.port;
  }
}

/** Provides the service's metrics registry and serves it at `/metrics`. */
@Module({})
export class MetricsModule {
  /** Registers the registry (global) and the endpoint. */
  static forRoot(options: MetricsModuleOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        { provide: METRICS_REGISTRY, useFactory: () => createMetricsRegistry(options.service) },
        MetricsServerHost,
      ],
      exports: [METRICS_REGISTRY, MetricsServerHost],
    };
  }
}
