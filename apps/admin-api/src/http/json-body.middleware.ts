import { Inject, Injectable } from '@nestjs/common';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import {
  BodyMiddleware,
  readBodyBytes,
  refuseDeclaredOverLimit,
} from '@caracal-deploy/http-server';

import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import type { ApiRequest } from './http-types.js';

/** Reads and parses JSON request bodies with the configured size limit. */
@Injectable()
export class JsonBodyMiddleware extends BodyMiddleware<ApiRequest> {
  constructor(@Inject(ADMIN_CONFIG) private readonly config: AdminConfig) {
    super();
  }

  protected async read(request: ApiRequest): Promise<void> {
    const limit = this.config.maxBodyBytes;
    const declared = Number(request.headers['content-length'] ?? '0');
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (!chunked && !(declared > 0)) {
      request.body = undefined;
      return;
    }
    refuseDeclaredOverLimit(request, limit);

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

    const text = (await readBodyBytes(request, limit)).toString('utf8');
    try {
      request.body = JSON.parse(text) as unknown;
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
