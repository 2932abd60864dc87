import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NotFoundError, UnavailableError } from '@caracal-deploy/errors';

import { FakeAdminApi } from '@caracal-deploy/stand-ins';
import { AdminApiClient, parsePage } from './admin-api.client.js';

const sha = 'a'.repeat(64);

describe('AdminApiClient', () => {
  const admin = new FakeAdminApi('token-1');
  let baseUrl: string;

  before(async () => {
    baseUrl = await admin.listen();
    admin.bundles.set(sha, new Uint8Array([1, 2, 3]));
    admin.catalogs.set('zone-1', [
      { identifier: 'resource://a', id: 'a', scopes: ['read'], operations: [] },
      { identifier: 'resource://b', id: 'b', scopes: ['write'], operations: ['POST /b'] },
    ]);
  });
  after(() => admin.close());

  const client = (token = 'token-1') => new AdminApiClient({ baseUrl, token, timeoutMs: 5_000 });

  it('fetches a bundle by sha with the bearer token, and names the sha when it is missing', async () => {
    assert.deepEqual([...(await client().fetch(sha))], [1, 2, 3]);
    const missing = 'b'.repeat(64);
    await assert.rejects(
      client().fetch(missing),
      (error: unknown) => error instanceof NotFoundError && error.message.includes(missing),
    );
    await assert.rejects(
      client('wrong').fetch(sha),
      (error: unknown) => error instanceof UnavailableError && /401/.test(error.message),
    );
  });

  it('reads catalog pages following next_cursor', async () => {
    const first = await client().page('zone-1', null);
    assert.deepEqual(
      first.items.map((item) => item.identifier),
      ['resource://a'],
    );
    assert.equal(first.nextCursor, '1');
    const second = await client().page('zone-1', first.nextCursor);
    assert.deepEqual(
      second.items.map((item) => item.id),
      ['b'],
    );
    assert.equal(second.nextCursor, null);
    await assert.rejects(client().page('zone-x', null), NotFoundError);
  });

  it('reports an unreachable Admin API as unavailable', async () => {
    const down = new AdminApiClient({ baseUrl: 'http://127.0.0.1:1', token: '', timeoutMs: 5_000 });
    await assert.rejects(down.fetch(sha), UnavailableError);
  });
});

describe('parsePage', () => {
  it('refuses a malformed page instead of using half of it', () => {
    assert.throws(() => parsePage('z', { items: 'nope' }), /no items array/);
    assert.throws(
      () => parsePage('z', { items: [{ identifier: 'resource://a', id: 'a', scopes: 'read' }] }),
      /item 0/,
    );
  });
});
