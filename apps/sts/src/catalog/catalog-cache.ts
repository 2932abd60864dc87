import { FailedPreconditionError } from '@caracal-deploy/errors';

import type { CatalogResource, CatalogSource } from '../sources/admin-api.client.js';

/** Options of {@link CatalogCache}. */
export interface CatalogCacheOptions {
  readonly source: CatalogSource;
  /** How long a fetched catalog is served before the next lookup fetches it again, ms. */
  readonly ttlMs: number;
  /** Most resources held per zone; a larger catalog is refused, never truncated. */
  readonly maxEntries: number;
  /** Told when a refresh failed and the previous catalog keeps serving. */
  readonly onRefreshFailed?: (zoneId: string, error: unknown) => void;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

interface Snapshot {
  readonly byIdentifier: ReadonlyMap<string, CatalogResource>;
  readonly fetchedAt: number;
}

/**
 * Each served zone's resource catalog by identifier, fetched whole (every page)
 * and kept for `ttlMs`. Bounds: one snapshot per zone (zones are configured, so
 * bounded) of at most `maxEntries` resources; a larger catalog fails the lookup
 * rather than silently missing resources. Concurrent lookups share one fetch.
 * When a refresh fails (Admin API down), the previous snapshot keeps serving:
 * the catalog only names resources, the policy still decides every request.
 */
export class CatalogCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly loading = new Map<string, Promise<Snapshot>>();
  private readonly now: () => number;

  constructor(private readonly options: CatalogCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The zone's resource with `identifier`, or undefined when the catalog has none. */
  async resolve(zoneId: string, identifier: string): Promise<CatalogResource | undefined> {
    return (await this.snapshot(zoneId)).byIdentifier.get(identifier);
  }

  /** Forgets a zone's snapshot so the next lookup fetches it. */
  invalidate(zoneId: string): void {
    this.snapshots.delete(zoneId);
  }

  private async snapshot(zoneId: string): Promise<Snapshot> {
    const cached = this.snapshots.get(zoneId);
    if (cached && this.now() - cached.fetchedAt < this.options.ttlMs) return cached;
    let loading = this.loading.get(zoneId);
    if (!loading) {
      loading = this.fetchAll(zoneId).finally(() => this.loading.delete(zoneId));
      this.loading.set(zoneId, loading);
    }
    try {
      const fresh = await loading;
      this.snapshots.set(zoneId, fresh);
      return fresh;
    } catch (error) {
      if (!cached || error instanceof FailedPreconditionError) throw error;
      this.options.onRefreshFailed?.(zoneId, error);
      return cached;
    }
  }

  private async fetchAll(zoneId: string): Promise<Snapshot> {
    const byIdentifier = new Map<string, CatalogResource>();
    const fetchedAt = this.now();
    let cursor: string | null = null;
    do {
      const page = await this.options.source.page(zoneId, cursor);
      for (const item of page.items) byIdentifier.set(item.identifier, item);
      if (byIdentifier.size > this.options.maxEntries) {
        throw new FailedPreconditionError(
          `the catalog of zone ${zoneId} has more than ${this.options.maxEntries} resources; raise CARACAL_STS_CATALOG_MAX_ENTRIES`,
          { details: { zone_id: zoneId, max_entries: String(this.options.maxEntries) } },
        );
      }
      cursor = page.nextCursor;
    } while (cursor);
    return { byIdentifier, fetchedAt };
  }
}
