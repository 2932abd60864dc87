import { Controller, Req, Res } from '@nestjs/common';

import { RegistryRepository } from '../database/registry.repository.js';
import type { ApiRequest, ApiResponse } from '../http/http-types.js';
import { Route, ValidParams } from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';

/** True when an `If-None-Match` header value matches the strong ETag `etag`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  // Weak comparison, as RFC 9110 prescribes for If-None-Match.
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/** Bundles by content address: immutable bytes, cacheable forever. */
@Controller()
export class BundlesController {
  constructor(private readonly repository: RegistryRepository) {}

  @Route(routes.getBundle)
  async getBundle(
    @ValidParams() params: { sha256: string },
    @Req() request: ApiRequest,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const bundle = await this.repository.bundle(params.sha256);
    const etag = `"${bundle.sha256}"`;
    response.setHeader('etag', etag);
    // The URL names the bytes, so no copy can ever be stale.
    response.setHeader('cache-control', 'public, max-age=31536000, immutable');
    if (ifNoneMatchHits(request.headers['if-none-match'], etag)) {
      response.status(304).end();
      return;
    }
    response.setHeader('content-type', 'application/gzip');
    response.setHeader('content-length', String(bundle.bytes.length));
    response.status(200).end(bundle.bytes);
  }
}
