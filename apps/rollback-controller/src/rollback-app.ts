import type { INestApplication } from '@nestjs/common';
import { type HttpAppOptions, createHttpApp } from '@caracal-deploy/http-server';

import { AppModule } from './app.module.js';
import type { RollbackConfig } from './config/rollback.config.js';

/**
 * Creates the rollback-controller Nest application (not yet listening) for
 * `config`. Bodies are read as bytes by RawBodyMiddleware: signatures cover
 * the exact bytes, and JSON is parsed only after the sender is authenticated.
 */
export function createRollbackApp(
  config: RollbackConfig,
  options: HttpAppOptions = {},
): Promise<INestApplication> {
  return createHttpApp(AppModule.forRoot(config), options);
}
