import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '@caracal-deploy/config';

import { loadVerifierConfig } from './config/verifier.config.js';
import { createVerifierApp } from './verifier-app.js';

async function bootstrap(): Promise<void> {
  const config = loadVerifierConfig();
  const app = await createVerifierApp(config);
  app.enableShutdownHooks();
}

bootstrap().catch((error: unknown) => {
  const logger = new Logger('verification-aggregator');
  logger.error(
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error,
  );
  process.exitCode = 1;
});
