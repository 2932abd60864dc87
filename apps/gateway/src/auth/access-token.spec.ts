import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';

import { UnavailableError } from '@caracal-deploy/errors';
import { signEs256Jwt } from '@caracal-deploy/token-exchange';

import {
  AccessTokenVerifier,
  TokenRefusal,
  bearerToken,
  type TrustedKeys,
} from './access-token.js';

const issuer = 'https://sts.test';
const now = 1_790_000_000;
const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

class TestKeys implements TrustedKeys {
  generation = 0;
  refreshes = 0;
  readonly known = new Map<string, KeyObject>();
  pending = new Map<string, KeyObject>();
  reachable = true;
  key(kid: string | undefined) {
    return kid === undefined ? undefined : this.known.get(kid);
  }
  refreshForUnknownKid() {
    this.refreshes += 1;
    if (!this.reachable) return Promise.reject(new UnavailableError('jwks unreachable'));
    for (const [kid, key] of this.pending) this.known.set(kid, key);
    this.pending.clear();
    return Promise.resolve();
  }
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  sub: 'user-1',
  aud: 'resource://orders',
  exp: now + 300,
  iat: now,
  zone_id: 'zone-1',
  scope: 'read write',
  use: 'resource',
  sid: 'sid-1',
  ...extra,
});

describe('AccessTokenVerifier', () => {
  const { privateKey, publicKey } = keyPair();
  const setup = (clock = () => now) => {
    const keys = new TestKeys();
    keys.known.set('k1', publicKey);
    const verifier = new AccessTokenVerifier({ keys, issuer, cacheEntries: 2, now: clock });
    return { keys, verifier };
  };
  const refusedWith = (error: string, pattern: RegExp) => (thrown: unknown) => {
    assert.ok(thrown instanceof TokenRefusal, String(thrown));
    assert.equal(thrown.error, error);
    assert.match(thrown.message, pattern);
    return true;
  };

  it('accepts a token for the route audience carrying the operation scope', async () => {
    const { verifier } = setup();
    const verified = await verifier.authorize(
      signEs256Jwt(claims(), privateKey, 'k1'),
      'resource://orders',
      'write',
    );
    assert.equal(verified.sub, 'user-1');
    assert.equal(verified.zoneId, 'zone-1');
    assert.deepEqual([...verified.scopes], ['read', 'write']);
  });

  it('refuses a wrong audience and a missing scope', async () => {
    const { verifier } = setup();
    const token = signEs256Jwt(claims({ scope: 'read' }), privateKey, 'k1');
    await assert.rejects(
      verifier.authorize(token, 'resource://billing', 'read'),
      refusedWith('invalid_token', /not resource:\/\/billing/),
    );
    await assert.rejects(
      verifier.authorize(token, 'resource://orders', 'write'),
      (thrown: unknown) =>
        refusedWith('insufficient_scope', /needs scope write/)(thrown) &&
        (thrown as TokenRefusal).scope === 'write',
    );
  });

  it('refuses expired, forged, foreign-issuer, unsigned and zone-less tokens', async () => {
    const { verifier } = setup();
    const check = (token: string, pattern: RegExp) =>
      assert.rejects(
        verifier.authorize(token, 'resource://orders', 'read'),
        refusedWith('invalid_token', pattern),
      );
    await check(signEs256Jwt(claims({ exp: now - 3_600 }), privateKey, 'k1'), /expired/);
    await check(signEs256Jwt(claims(), keyPair().privateKey, 'k1'), /signature/);
    await check(signEs256Jwt(claims({ iss: 'https://other' }), privateKey, 'k1'), /iss/);
    await check(signEs256Jwt(claims({ zone_id: undefined }), privateKey, 'k1'), /zone_id/);
    await check(signEs256Jwt(claims({ use: 'subject' }), privateKey, 'k1'), /use/);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    await check(unsigned, /alg/);
    await check('not-a-jwt', /3 dot-separated parts/);
  });

  it('refetches the keys for an unknown kid, then accepts or refuses', async () => {
    const { keys, verifier } = setup();
    const rotated = keyPair();
    keys.pending.set('k2', rotated.publicKey);
    const token = signEs256Jwt(claims(), rotated.privateKey, 'k2');
    await verifier.authorize(token, 'resource://orders', 'read');
    assert.equal(keys.refreshes, 1);
    await assert.rejects(
      verifier.authorize(
        signEs256Jwt(claims(), rotated.privateKey, 'k9'),
        'resource://orders',
        'read',
      ),
      refusedWith('invalid_token', /no trusted key "k9"/),
    );
    assert.equal(keys.refreshes, 2);
  });

  it('says the STS is unavailable (not invalid_token) when no key source answers', async () => {
    const { keys, verifier } = setup();
    keys.reachable = false;
    await assert.rejects(
      verifier.authorize(signEs256Jwt(claims(), privateKey, 'k-new'), 'resource://orders', 'read'),
      UnavailableError,
    );
  });

  it('remembers a verified token until it expires, and forgets it when keys change', async () => {
    let clock = now;
    const { keys, verifier } = setup(() => clock);
    const token = signEs256Jwt(claims({ exp: now + 60 }), privateKey, 'k1');
    await verifier.authorize(token, 'resource://orders', 'read');
    keys.known.delete('k1');
    // Cached: the signature is not checked again.
    await verifier.authorize(token, 'resource://orders', 'read');
    keys.generation += 1;
    await assert.rejects(
      verifier.authorize(token, 'resource://orders', 'read'),
      refusedWith('invalid_token', /no trusted key/),
    );
    keys.known.set('k1', publicKey);
    await verifier.authorize(token, 'resource://orders', 'read');
    clock = now + 60 + 31;
    await assert.rejects(
      verifier.authorize(token, 'resource://orders', 'read'),
      refusedWith('invalid_token', /expired/),
    );
  });
});

describe('bearerToken', () => {
  it('reads "Bearer <token>" and names what is wrong otherwise', () => {
    assert.deepEqual(bearerToken('Bearer abc.def.ghi'), { token: 'abc.def.ghi' });
    assert.deepEqual(bearerToken('bearer abc'), { token: 'abc' });
    assert.deepEqual(bearerToken(undefined), { problem: 'missing' });
    assert.deepEqual(bearerToken(''), { problem: 'missing' });
    assert.deepEqual(bearerToken('Basic dXNlcjpwYXNz'), { problem: 'malformed' });
    assert.deepEqual(bearerToken('Bearer a b'), { problem: 'malformed' });
  });
});
