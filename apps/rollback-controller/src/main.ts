import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '@caracal-deploy/config';

import { devWebhookToken, loadRollbackConfig } from './config/rollback.config.js';
import { createRollbackApp } from './rollback-app.js';

async function bootstrap(): Promise<void> {
  const config = loadRollbackConfig();
  const logger = new Logger('rollback-controller');
  if (config.webhookToken === devWebhookToken) {
    logger.warn('CARACAL_ROLLBACK_WEBHOOK_TOKEN is the development token; set a real secret');
  }
  const app = await createRollbackApp(config);
  app.enableShutdownHooks();
  await app.listen(config.httpPort, config.httpHost);
  logger.log(`serving webhooks on HTTP ${config.httpHost}:${config.httpPort}`);
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('rollback-controller');
  logger.error(
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error,
  );
  process.exitCode = 1;
});
