import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import type { DescService } from '@bufbuild/protobuf';

import { GrpcServer } from './grpc-server.js';
import type { ServiceImpl } from './service-types.js';

const registrations = new WeakMap<object, DescService>();

/**
 * Marks a Nest provider as the implementation of a generated service; the
 * {@link GrpcServerHost} serves every provider so marked. The class must
 * implement `ServiceImpl<typeof TheService>`.
 */
export function GrpcService(service: DescService): ClassDecorator {
  return (target) => {
    registrations.set(target, service);
    Injectable()(target);
  };
}

/** Options of {@link GrpcModule.forRoot}. */
export interface GrpcModuleOptions {
  /** `host:port` to bind; port 0 picks a free one. */
  readonly address: string;
  /** Grace period for in-flight unary calls at shutdown (default 5 s). */
  readonly shutdownGraceMs?: number;
}

const GRPC_MODULE_OPTIONS = Symbol('GRPC_MODULE_OPTIONS');

/** Owns the app's gRPC server: serves every `@GrpcService` provider from bootstrap to shutdown. */
@Injectable()
export class GrpcServerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('GrpcServer');
  private server: GrpcServer | undefined;

  constructor(
    @Inject(GRPC_MODULE_OPTIONS) private readonly options: GrpcModuleOptions,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = new GrpcServer({
      ...this.options,
      logger: {
        error: (message, error) =>
          this.logger.error(message, error instanceof Error ? error.stack : error),
      },
    });
    const served: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const service = wrapper.metatype ? registrations.get(wrapper.metatype) : undefined;
      if (!service || !wrapper.instance) continue;
      server.add(service, wrapper.instance as ServiceImpl<DescService>);
      served.push(service.typeName);
    }
    const port = await server.listen();
    this.server = server;
    this.logger.log(`serving ${served.join(', ')} on port ${port}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }

  /** The bound port (useful when the address asked for port 0). */
  get port(): number {
    if (!this.server) throw new Error('gRPC server has not started');
    return this.server.port;
  }
}

/** Serves the app's `@GrpcService` providers on one grpc-js server. */
@Module({})
export class GrpcModule {
  /** Registers the server host with the given bind options. */
  static forRoot(options: GrpcModuleOptions): DynamicModule {
    return {
      module: GrpcModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: GRPC_MODULE_OPTIONS, useValue: options }, GrpcServerHost],
      exports: [GrpcServerHost],
    };
  }
}
