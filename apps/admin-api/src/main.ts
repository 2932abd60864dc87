import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '@caracal-deploy/config';

import { createAdminApp } from './admin-app.js';
import { loadAdminConfig } from './config/admin.config.js';

async function bootstrap(): Promise<void> {
  const config = loadAdminConfig();
  const app = await createAdminApp(config);
  app.enableShutdownHooks();
  await app.listen(config.httpPort, config.httpHost);
  new Logger('admin-api').log(`serving HTTP on ${config.httpHost}:${config.httpPort}`);
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('admin-api');
  logger.error(
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error,
  );
  process.exitCode = 1;
});
