import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { ResourceExhaustedError } from '@caracal-deploy/errors';

import { ROLLBACK_CONFIG, type RollbackConfig } from '../config/rollback.config.js';
import type { WebhookRequest } from './http-types.js';

/** The body is larger than the configured limit: HTTP 413 rather than the 429 of rate limits. */
export class PayloadTooLargeError extends ResourceExhaustedError {
  /** The HTTP status that refines the code's usual one. */
  readonly httpStatus = 413;
}

/**
 * Reads request bodies as bytes, bounded by the configured limit, and keeps
 * them on the request: a signature is checked over the exact bytes, and the
 * JSON is parsed only after the sender is authenticated.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  constructor(@Inject(ROLLBACK_CONFIG) private readonly config: RollbackConfig) {}

  async use(
    request: WebhookRequest,
    _response: unknown,
    next: (error?: unknown) => void,
  ): Promise<void> {
    try {
      request.rawBody = await this.read(request);
      next();
    } catch (error) {
      next(error);
    }
  }

  private async read(request: WebhookRequest): Promise<Buffer> {
    const limit = this.config.maxBodyBytes;
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > limit) {
      request.resume();
      throw tooLarge(limit, `${declared} bytes declared`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        request.resume();
        throw tooLarge(limit, `more than ${limit} bytes sent`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
}

function tooLarge(limit: number, seen: string): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes (${seen})`, {
    details: { limit_bytes: String(limit) },
  });
}
