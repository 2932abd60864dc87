// Test support: the coordinator app booted in process on ephemeral ports.
import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ActivationService } from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';

import { AppModule } from '../app.module.js';
import { loadCoordinatorConfig } from '../config/coordinator.config.js';

/** A booted coordinator and a client of it. */
export interface BootedCoordinator {
  readonly app: INestApplicationContext;
  readonly address: string;
  readonly metricsUrl: string;
  readonly client: GrpcClient<typeof ActivationService>;
  close(): Promise<void>;
}

/** Boots the app with `CARACAL_*` settings (gRPC and metrics on ephemeral ports). */
export async function bootCoordinator(
  settings: Readonly<Record<string, string>>,
): Promise<BootedCoordinator> {
  const config = loadCoordinatorConfig({
    CARACAL_COORDINATOR_GRPC_ADDRESS: '127.0.0.1:0',
    CARACAL_COORDINATOR_METRICS_PORT: '0',
    ...settings,
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: false,
    abortOnError: false,
  });
  const address = `127.0.0.1:${app.get(GrpcServerHost).port}`;
  const client = createGrpcClient(ActivationService, address);
  return {
    app,
    address,
    metricsUrl: `http://127.0.0.1:${app.get(MetricsServerHost).port}/metrics`,
    client,
    async close() {
      client.close();
      await app.close();
    },
  };
}
