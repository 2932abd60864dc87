import { Inject, Injectable } from '@nestjs/common';
import {
  BodyMiddleware,
  readBodyBytes,
  refuseDeclaredOverLimit,
} from '@caracal-deploy/http-server';

import { ROLLBACK_CONFIG, type RollbackConfig } from '../config/rollback.config.js';
import type { WebhookRequest } from './http-types.js';

/**
 * Reads request bodies as bytes, bounded by the configured limit, and keeps
 * them on the request: a signature is checked over the exact bytes, and the
 * JSON is parsed only after the sender is authenticated.
 */
@Injectable()
export class RawBodyMiddleware extends BodyMiddleware<WebhookRequest> {
  constructor(@Inject(ROLLBACK_CONFIG) private readonly config: RollbackConfig) {
    super();
  }

  protected async read(request: WebhookRequest): Promise<void> {
    refuseDeclaredOverLimit(request, this.config.maxBodyBytes);
    request.rawBody = await readBodyBytes(request, this.config.maxBodyBytes);
  }
}
