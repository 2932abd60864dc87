import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@caracal-deploy/config';

import { AppModule } from './app.module.js';
import { loadCoordinatorConfig } from './config/coordinator.config.js';

async function bootstrap(): Promise<void> {
  const config = loadCoordinatorConfig();
  // gRPC and /metrics have their own servers; Nest runs as an application context.
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: false,
  });
  app.enableShutdownHooks();
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('activation-coordinator');
  logger.error(
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error,
  );
  process.exitCode = 1;
});
