import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@caracal-deploy/config';
import { DeployError } from '@caracal-deploy/errors';

import { AppModule } from './app.module.js';
import { loadAgentInputs } from './canary-agent.js';
import { loadCanaryConfig } from './config/canary.config.js';

async function bootstrap(): Promise<void> {
  const config = loadCanaryConfig();
  const logger = new Logger('canary-agent');
  const inputs = await loadAgentInputs(config, (message) => logger.warn(message));
  // The agent is a client (Gateway, STS, aggregator) serving only /metrics and gRPC health: an application context.
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, inputs), {
    bufferLogs: false,
  });
  app.enableShutdownHooks();
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('canary-agent');
  logger.error(
    // Bad settings and bad files are explained by their message; anything else needs its stack.
    error instanceof ConfigError || error instanceof DeployError
      ? error.message
      : error instanceof Error
        ? error.stack
        : error,
  );
  process.exitCode = 1;
});
