import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import type { RollbackConfig } from './config/rollback.config.js';

/** Creates the rollback-controller Nest application (not yet listening) for `config`. */
export async function createRollbackApp(
  config: RollbackConfig,
  options: { logger?: LoggerService | LogLevel[] | false } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    // Bodies are read as bytes by RawBodyMiddleware: signatures cover the exact
    // bytes, and JSON is parsed only after the sender is authenticated.
    bodyParser: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const express = app.getHttpAdapter().getInstance() as { disable(setting: string): void };
  express.disable('x-powered-by');
  return app;
}
