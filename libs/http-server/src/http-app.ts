import type { DynamicModule, INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Nest's logger setting; Nest's default logger when absent. */
  readonly logger?: LoggerService | LogLevel[] | false;
}

/**
 * Creates a Nest HTTP application (not yet listening) for `module`. Express's
 * body parser is off: the app reads bodies with its own {@link BodyMiddleware}.
 */
export async function createHttpApp(
  module: DynamicModule,
  options: HttpAppOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(module, {
    bodyParser: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const express = app.getHttpAdapter().getInstance() as { disable(setting: string): void };
  express.disable('x-powered-by');
  return app;
}
