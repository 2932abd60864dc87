import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';

import { UnavailableError } from '@caracal-deploy/errors';
import { es256Jwk } from '@caracal-deploy/token-exchange';

import { JwksKeySet, parseJwks } from './jwks-key-set.js';

const jwk = (kid: string) =>
  es256Jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid);

describe('JwksKeySet', () => {
  const setup = (documents: Map<string, unknown>) => {
    let clock = 0;
    const fetched: string[] = [];
    const keys = new JwksKeySet({
      urls: ['http://a/jwks', 'http://b/jwks'],
      timeoutMs: 100,
      refreshIntervalMs: 60_000,
      minRefreshMs: 1_000,
      now: () => clock,
      fetch: ((url: string) => {
        fetched.push(url);
        const document = documents.get(url);
        return document === undefined
          ? Promise.reject(new Error('connection refused'))
          : Promise.resolve(Response.json(document));
      }) as typeof fetch,
    });
    return { keys, fetched, tick: (ms: number) => (clock += ms) };
  };

  it('trusts the union of every source and keeps a failed source’s last keys', async () => {
    const documents = new Map<string, unknown>([
      ['http://a/jwks', { keys: [jwk('a1')] }],
      ['http://b/jwks', { keys: [jwk('b1')] }],
    ]);
    const { keys } = setup(documents);
    await keys.refresh();
    assert.ok(keys.key('a1') && keys.key('b1'));
    const generation = keys.generation;
    documents.delete('http://b/jwks');
    await keys.refresh();
    assert.ok(keys.key('b1'), 'b1 stays while its source is down');
    assert.equal(keys.generation, generation, 'nothing changed');
    documents.set('http://b/jwks', { keys: [jwk('b2')] });
    await keys.refresh();
    assert.equal(keys.key('b1'), undefined);
    assert.ok(keys.key('b2'));
    assert.ok(keys.generation > generation);
  });

  it('refetches for an unknown kid at most once per interval', async () => {
    const documents = new Map<string, unknown>([['http://a/jwks', { keys: [jwk('a1')] }]]);
    const { keys, fetched, tick } = setup(documents);
    await keys.refresh();
    const before = fetched.length;
    tick(1_000);
    await keys.refreshForUnknownKid();
    await keys.refreshForUnknownKid();
    assert.equal(fetched.length, before + 2, 'one refresh of both sources');
    tick(1_000);
    await keys.refreshForUnknownKid();
    assert.equal(fetched.length, before + 4);
  });

  it('reports unavailable when no source answers', async () => {
    const { keys } = setup(new Map());
    await assert.rejects(keys.refreshForUnknownKid(), UnavailableError);
    assert.equal(keys.size, 0);
  });

  it('reads only ES256 signing keys from a JWKS document', () => {
    const keys = parseJwks({
      keys: [jwk('good'), { ...jwk('rsa'), kty: 'RSA' }, { ...jwk('enc'), use: 'enc' }],
    });
    assert.deepEqual([...keys.keys()], ['good']);
    assert.throws(() => parseJwks({ nope: [] }), /not a JWKS document/);
  });
});
