import type { BundleSource } from '@caracal-deploy/decision-runtime';
import { NotFoundError, UnavailableError } from '@caracal-deploy/errors';

/** A catalog resource as the Admin API lists it (`GET /v1/zones/{zone}/resources`). */
export interface CatalogResource {
  readonly identifier: string;
  readonly id: string;
  readonly type?: string;
  readonly scopes: readonly string[];
  readonly operations: readonly string[];
}

/** One page of a zone's catalog. */
export interface CatalogPage {
  readonly items: readonly CatalogResource[];
  readonly nextCursor: string | null;
}

/** Reads a zone's catalog page by page (the Admin API in production). */
export interface CatalogSource {
  page(zoneId: string, cursor: string | null, signal?: AbortSignal): Promise<CatalogPage>;
}

/** Options of {@link AdminApiClient}. */
export interface AdminApiClientOptions {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:8470`. */
  readonly baseUrl: string;
  /** Bearer token; empty sends no Authorization header. */
  readonly token: string;
  readonly timeoutMs: number;
}

/** Largest page the Admin API serves. */
const pageSize = 200;

/**
 * The STS's reads from the Admin API: bundles by sha256 (`GET /v1/bundles/{sha}`)
 * and zone catalogs (`GET /v1/zones/{zone}/resources`). Failures name the URL's
 * subject (sha, zone) and the HTTP status.
 */
export class AdminApiClient implements BundleSource, CatalogSource {
  constructor(private readonly options: AdminApiClientOptions) {}

  async fetch(bundleSha256: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.get(`/v1/bundles/${encodeURIComponent(bundleSha256)}`, signal);
    if (response.status === 404) {
      throw new NotFoundError(`bundle ${bundleSha256} does not exist in the Admin API`, {
        details: { bundle_sha256: bundleSha256 },
      });
    }
    if (!response.ok) {
      throw new UnavailableError(
        `fetching bundle ${bundleSha256} failed: Admin API answered ${response.status}`,
        { details: { bundle_sha256: bundleSha256, status: String(response.status) } },
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  async page(zoneId: string, cursor: string | null, signal?: AbortSignal): Promise<CatalogPage> {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (cursor) query.set('cursor', cursor);
    const response = await this.get(
      `/v1/zones/${encodeURIComponent(zoneId)}/resources?${query.toString()}`,
      signal,
    );
    if (response.status === 404) {
      throw new NotFoundError(`zone ${zoneId} does not exist in the Admin API`, {
        details: { zone_id: zoneId },
      });
    }
    if (!response.ok) {
      throw new UnavailableError(
        `reading the catalog of zone ${zoneId} failed: Admin API answered ${response.status}`,
        { details: { zone_id: zoneId, status: String(response.status) } },
      );
    }
    return parsePage(zoneId, await response.json());
  }

  private async get(path: string, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      return await fetch(`${this.options.baseUrl}${path}`, {
        headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new UnavailableError(
        `Admin API at ${this.options.baseUrl} is unreachable (GET ${path.split('?')[0]}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Checks an Admin API catalog page; a malformed page fails rather than being half-used. */
export function parsePage(zoneId: string, body: unknown): CatalogPage {
  const page = body as { items?: unknown; next_cursor?: unknown } | null;
  if (!page || !Array.isArray(page.items)) {
    throw new UnavailableError(`catalog page of zone ${zoneId} has no items array`);
  }
  const items = page.items.map((raw: unknown, index): CatalogResource => {
    const item = raw as Record<string, unknown> | null;
    if (
      !item ||
      typeof item['identifier'] !== 'string' ||
      typeof item['id'] !== 'string' ||
      !isStringArray(item['scopes']) ||
      !isStringArray(item['operations']) ||
      (item['type'] !== undefined && typeof item['type'] !== 'string')
    ) {
      throw new UnavailableError(
        `catalog page of zone ${zoneId}: item ${index} lacks identifier, id, scopes or operations`,
      );
    }
    return {
      identifier: item['identifier'],
      id: item['id'],
      scopes: item['scopes'],
      operations: item['operations'],
      ...(typeof item['type'] === 'string' ? { type: item['type'] } : {}),
    };
  });
  const next = page.next_cursor;
  return { items, nextCursor: typeof next === 'string' && next.length > 0 ? next : null };
}
