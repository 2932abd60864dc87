import type { INestApplication } from '@nestjs/common';
import { type HttpAppOptions, createHttpApp } from '@caracal-deploy/http-server';

import { AppModule } from './app.module.js';
import type { AdminConfig } from './config/admin.config.js';

/**
 * Creates the admin-api Nest application (not yet listening) for `config`.
 * JSON bodies are read by JsonBodyMiddleware, so size and syntax errors answer
 * through the same exception filter as everything else.
 */
export function createAdminApp(
  config: AdminConfig,
  options: HttpAppOptions = {},
): Promise<INestApplication> {
  return createHttpApp(AppModule.forRoot(config), options);
}
