import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FailedPreconditionError, UnavailableError } from '@caracal-deploy/errors';

import type { CatalogPage, CatalogResource, CatalogSource } from '../sources/admin-api.client.js';
import { CatalogCache } from './catalog-cache.js';

const item = (slug: string, scopes = ['read']): CatalogResource => ({
  identifier: `resource://${slug}`,
  id: `id-${slug}`,
  scopes,
  operations: [],
});

/** A paged catalog that counts fetches and can be made to fail. */
class FakeSource implements CatalogSource {
  calls = 0;
  failing = false;
  constructor(public pages: CatalogResource[][]) {}
  page(_zone: string, cursor: string | null): Promise<CatalogPage> {
    this.calls += 1;
    if (this.failing) return Promise.reject(new UnavailableError('admin api down'));
    const index = cursor ? Number(cursor) : 0;
    return Promise.resolve({
      items: this.pages[index] ?? [],
      nextCursor: index + 1 < this.pages.length ? String(index + 1) : null,
    });
  }
}

describe('CatalogCache', () => {
  it('reads every page and resolves identifiers across them', async () => {
    const source = new FakeSource([[item('a')], [item('b', ['write'])]]);
    const cache = new CatalogCache({ source, ttlMs: 1_000, maxEntries: 10 });
    assert.deepEqual((await cache.resolve('z', 'resource://b'))?.scopes, ['write']);
    assert.equal(await cache.resolve('z', 'resource://missing'), undefined);
    assert.equal(source.calls, 2, 'one fetch of two pages, then served from cache');
  });

  it('serves from cache within the TTL and fetches again after it', async () => {
    let now = 0;
    const source = new FakeSource([[item('a')]]);
    const cache = new CatalogCache({ source, ttlMs: 1_000, maxEntries: 10, now: () => now });
    await cache.resolve('z', 'resource://a');
    now = 999;
    await cache.resolve('z', 'resource://a');
    assert.equal(source.calls, 1);
    source.pages = [[item('a'), item('new')]];
    now = 1_000;
    assert.ok(
      await cache.resolve('z', 'resource://new'),
      'a resource added upstream appears after the TTL',
    );
    assert.equal(source.calls, 2);
  });

  it('shares one fetch between concurrent lookups', async () => {
    const source = new FakeSource([[item('a')]]);
    const cache = new CatalogCache({ source, ttlMs: 1_000, maxEntries: 10 });
    await Promise.all([1, 2, 3].map(() => cache.resolve('z', 'resource://a')));
    assert.equal(source.calls, 1);
  });

  it('refuses a catalog larger than maxEntries instead of truncating it', async () => {
    const source = new FakeSource([[item('a'), item('b')], [item('c')]]);
    const cache = new CatalogCache({ source, ttlMs: 1_000, maxEntries: 2 });
    await assert.rejects(
      cache.resolve('z', 'resource://a'),
      (error: unknown) =>
        error instanceof FailedPreconditionError && /more than 2 resources/.test(error.message),
    );
  });

  it('keeps serving the previous catalog when a refresh fails, and fails without one', async () => {
    let now = 0;
    const failures: string[] = [];
    const source = new FakeSource([[item('a')]]);
    const cache = new CatalogCache({
      source,
      ttlMs: 10,
      maxEntries: 10,
      now: () => now,
      onRefreshFailed: (zone) => failures.push(zone),
    });
    await cache.resolve('z', 'resource://a');
    source.failing = true;
    now = 100;
    assert.ok(await cache.resolve('z', 'resource://a'));
    assert.deepEqual(failures, ['z']);
    await assert.rejects(cache.resolve('other', 'resource://a'), UnavailableError);
  });
});
