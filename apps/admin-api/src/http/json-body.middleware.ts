import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import { PayloadTooLargeError } from './http-errors.js';
import type { ApiRequest } from './http-types.js';

/**
 * Reads and parses JSON request bodies with the configured size limit. Done
 * here rather than by Express's body parser so that a non-JSON or oversized
 * body fails through the same exception filter, with the same error body, as
 * every other bad request.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  constructor(@Inject(ADMIN_CONFIG) private readonly config: AdminConfig) {}

  async use(
    request: ApiRequest,
    _response: unknown,
    next: (error?: unknown) => void,
  ): Promise<void> {
    try {
      request.body = await this.read(request);
      next();
    } catch (error) {
      next(error);
    }
  }

  private async read(request: ApiRequest): Promise<unknown> {
    const limit = this.config.maxBodyBytes;
    const declared = Number(request.headers['content-length'] ?? '0');
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (!chunked && !(declared > 0)) return undefined;
    if (declared > limit) throw tooLarge(limit, `${declared} bytes declared`);

    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      // Drain so the connection stays usable for the error response.
      request.resume();
      throw new InvalidArgumentError('request body must be JSON (Content-Type: application/json)', {
        violations: [
          { field: 'content-type', problem: `expected application/json, got ${type || 'nothing'}` },
        ],
      });
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
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new InvalidArgumentError(
        `request body is not valid JSON: ${(error as Error).message}`,
        {
          violations: [{ field: 'body', problem: 'expected a JSON document' }],
        },
      );
    }
  }
}

function tooLarge(limit: number, seen: string): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes (${seen})`, {
    details: { limit_bytes: String(limit) },
  });
}
