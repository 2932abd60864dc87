import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import type { AdminConfig } from './config/admin.config.js';

/** Creates the admin-api Nest application (not yet listening) for `config`. */
export async function createAdminApp(
  config: AdminConfig,
  options: { logger?: LoggerService | LogLevel[] | false } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    // JSON bodies are read by JsonBodyMiddleware so size and syntax errors
    // answer through the same exception filter as everything else.
    bodyParser: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const express = app.getHttpAdapter().getInstance() as { disable(setting: string): void };
  express.disable('x-powered-by');
  return app;
}
