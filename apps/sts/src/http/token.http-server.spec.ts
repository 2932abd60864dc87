import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { es256Jwk } from '@caracal-deploy/token-exchange';

import type { ExchangeContext } from '../exchange/token-exchanger.js';
import { TokenHttpServer, requestIdOf } from './token.http-server.js';

describe('TokenHttpServer', () => {
  const received: { params: Record<string, string | string[]>; context: ExchangeContext }[] = [];
  const decided: { body: unknown; requestId: string }[] = [];
  const jwk = es256Jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'k1');
  const server = new TokenHttpServer({
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 64,
    jwks: [jwk],
    exchange: (params, context) => {
      received.push({ params, context });
      return Promise.resolve({ status: 200, body: { ok: true }, headers: { 'x-test': '1' } });
    },
    decide: (body, requestId) => {
      decided.push({ body, requestId });
      return { status: 200, body: { decision: 'deny' }, headers: { 'x-caracal-decision': 'deny' } };
    },
  });
  let base: string;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/oauth/2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });

  before(async () => {
    base = `http://127.0.0.1:${await server.listen()}`;
  });
  after(() => server.close());

  it('passes form parameters (repeated keys as arrays) and the request context to the exchange', async () => {
    const response = await post('a=1&resource=x&resource=y', {
      'x-request-id': 'req-1',
      traceparent: 'tp',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), 'req-1');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-test'), '1');
    assert.deepEqual(received.at(-1), {
      params: { a: '1', resource: ['x', 'y'] },
      context: { requestId: 'req-1', traceparent: 'tp' },
    });
  });

  it('answers 413 for a body over the limit without calling the exchange', async () => {
    const before = received.length;
    const response = await post(`a=${'x'.repeat(200)}`);
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
    assert.equal(received.length, before);
  });

  it('refuses other content types, methods and paths with OAuth-shaped errors', async () => {
    const json = await post('{}', { 'content-type': 'application/json' });
    assert.equal(json.status, 400);
    assert.match(
      ((await json.json()) as { error_description: string }).error_description,
      /x-www-form-urlencoded/,
    );
    const get = await fetch(`${base}/oauth/2/token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${base}/elsewhere`)).status, 404);
  });

  it('passes the parsed JSON body of POST /v1/decide and the request id to the decision', async () => {
    const response = await fetch(`${base}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req-d1' },
      body: JSON.stringify({ zone_id: 'z', input: { a: 1 } }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-caracal-decision'), 'deny');
    assert.equal(response.headers.get('x-request-id'), 'req-d1');
    assert.deepEqual(await response.json(), { decision: 'deny' });
    assert.deepEqual(decided.at(-1), {
      body: { zone_id: 'z', input: { a: 1 } },
      requestId: 'req-d1',
    });
  });

  it('refuses malformed, oversized, non-JSON and non-POST decision requests before deciding', async () => {
    const before = decided.length;
    const decide = (body: string, init: RequestInit = {}) =>
      fetch(`${base}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        ...init,
      });
    const malformed = await decide('{"zone_id":');
    assert.equal(malformed.status, 400);
    assert.match(
      ((await malformed.json()) as { error: { message: string } }).error.message,
      /not JSON/,
    );
    assert.equal((await decide(JSON.stringify({ pad: 'x'.repeat(200) }))).status, 413);
    const form = await decide('a=1', { headers: { 'content-type': 'text/plain' } });
    assert.equal(form.status, 400);
    const get = await fetch(`${base}/v1/decide`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(decided.length, before);
  });

  it('publishes the issuing key at /.well-known/jwks.json', async () => {
    const response = await fetch(`${base}/.well-known/jwks.json`);
    assert.deepEqual(await response.json(), { keys: [jwk] });
  });
});

describe('requestIdOf', () => {
  it('keeps a sane caller id and replaces anything else with a fresh one', () => {
    assert.equal(requestIdOf('abc-123'), 'abc-123');
    assert.match(requestIdOf('bad id\n'), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf(undefined), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf(['a', 'b']), /^[0-9a-f-]{36}$/);
  });
});
