import type { INestApplicationContext, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import type { VerifierConfig } from './config/verifier.config.js';

/**
 * Creates the verification-aggregator as a Nest application context: gRPC and
 * /metrics have their own servers and serve once this resolves.
 */
export async function createVerifierApp(
  config: VerifierConfig,
  options: { logger?: LoggerService | LogLevel[] | false } = {},
): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}
