import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@caracal-deploy/config';

import { AppModule } from './app.module.js';
import { loadGatewayConfig } from './config/gateway.config.js';

async function bootstrap(): Promise<void> {
  const config = loadGatewayConfig();
  // The proxy, gRPC health and /metrics have their own servers; Nest runs as an application context.
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: false,
  });
  app.enableShutdownHooks();
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('gateway');
  logger.error(
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error,
  );
  process.exitCode = 1;
});
