import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';

import { verifyEs256Jwt } from '@caracal-deploy/token-exchange';

import type { Probe } from '../probes/probe.js';
import { CanaryTokens } from '../tokens/canary-tokens.js';
import { ProbeSender } from './probe-sender.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicKey = createPublicKey(privateKey);

const probe = (overrides: Partial<Probe> = {}): Probe => ({
  id: 'orders-read',
  zone: 'zone-a',
  subjectClaims: { sub: 'canary-reader' },
  resource: 'resource://orders',
  scopes: ['read'],
  method: 'GET',
  path: '/orders/1',
  expectedDecision: 'allow',
  ...overrides,
});

async function listen(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function form(request: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return new URLSearchParams(body);
}

// The STS token endpoint and the Gateway are service boundaries: real HTTP
// servers on loopback stand in for them, answering as they do.
describe('ProbeSender with CanaryTokens', () => {
  const exchanges: URLSearchParams[] = [];
  const exchangeRequestIds: string[] = [];
  const gatewayCalls: IncomingMessage[] = [];
  let sts: { server: Server; url: string };
  let gateway: { server: Server; url: string };
  let clock = 1_700_000_000_000;
  let gatewayAnswer: 'allow' | 'deny' | 'invalid_token' | 'hang' = 'allow';

  const sender = (stsUrl = `${sts.url}/oauth/2/token`, timeoutMs = 2_000) =>
    new ProbeSender({
      gatewayUrl: gateway.url,
      timeoutMs,
      tokens: new CanaryTokens({
        tokenUrl: stsUrl,
        privateKey,
        keyId: 'canary-key',
        issuer: 'https://idp.test',
        audience: 'https://sts.test',
        subjectTtlSeconds: 60,
        now: () => clock,
      }),
      now: () => clock,
    });

  before(async () => {
    sts = await listen((request, response) => {
      void form(request).then((params) => {
        exchanges.push(params);
        exchangeRequestIds.push(String(request.headers['x-request-id']));
        const headers = {
          'content-type': 'application/json',
          'x-request-id': String(request.headers['x-request-id']),
        };
        if (params.get('scope') === 'admin') {
          response
            .writeHead(403, {
              ...headers,
              'x-caracal-decision': 'deny',
              'x-caracal-decision-id': '11111111-1111-4111-8111-111111111111',
              'x-caracal-policy-revision': 'rev-1',
            })
            .end(
              JSON.stringify({
                error: 'access_denied',
                decision_id: '11111111-1111-4111-8111-111111111111',
              }),
            );
          return;
        }
        response.writeHead(200, headers).end(
          JSON.stringify({
            access_token: `token-${exchanges.length}`,
            expires_in: 300,
            token_type: 'Bearer',
          }),
        );
      });
    });
    gateway = await listen((request, response) => {
      gatewayCalls.push(request);
      if (gatewayAnswer === 'hang') return;
      const status = gatewayAnswer === 'allow' ? 200 : gatewayAnswer === 'deny' ? 403 : 401;
      response
        .writeHead(status, {
          'x-request-id': String(request.headers['x-request-id']),
          'x-caracal-decision': gatewayAnswer === 'allow' ? 'allow' : 'deny',
          'x-caracal-decision-id': '22222222-2222-4222-8222-222222222222',
          'x-caracal-policy-revision': gatewayAnswer === 'invalid_token' ? 'none' : 'rev-1',
        })
        .end('{}');
    });
  });

  beforeEach(() => {
    exchanges.length = 0;
    exchangeRequestIds.length = 0;
    gatewayCalls.length = 0;
    gatewayAnswer = 'allow';
  });

  after(async () => {
    for (const { server } of [sts, gateway]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('exchanges a signed subject token once and sends each probe with a fresh request id', async () => {
    const send = sender();
    const first = await send.send(probe(), 1);
    const second = await send.send(probe(), 2);
    assert.equal(exchanges.length, 1);
    const exchange = exchanges[0]!;
    assert.equal(exchange.get('resource'), 'resource://orders');
    assert.equal(exchange.get('scope'), 'read');
    const claims = verifyEs256Jwt(exchange.get('subject_token')!, {
      key: () => publicKey,
      issuer: 'https://idp.test',
      audience: 'https://sts.test',
      now: clock / 1000,
    });
    assert.equal(claims['sub'], 'canary-reader');
    assert.equal(claims['zone_id'], 'zone-a');

    assert.equal(gatewayCalls.length, 2);
    assert.equal(gatewayCalls[0]!.headers.authorization, 'Bearer token-1');
    assert.equal(gatewayCalls[0]!.url, '/orders/1');
    assert.equal(gatewayCalls[0]!.headers['x-request-id'], first.requestId);
    assert.notEqual(first.requestId, second.requestId);
    assert.equal(first.round, 1);
    assert.equal(second.round, 2);
    assert.equal(first.httpStatus, 200);
    assert.equal(first.observedDecision, 'allow');
    assert.equal(first.decisionId, '22222222-2222-4222-8222-222222222222');
    assert.equal(first.observedRevision, 'rev-1');
    assert.equal(first.transportError, '');
    assert.equal(first.answeredBy, 'gateway');
    assert.equal(first.sentAtUnixMillis, clock);
  });

  it('exchanges again shortly before the token expires, and after the Gateway refuses it', async () => {
    const send = sender();
    await send.send(probe(), 1);
    clock += 250_000;
    await send.send(probe(), 2);
    assert.equal(exchanges.length, 1, 'still well before expiry');
    clock += 25_000;
    await send.send(probe(), 3);
    assert.equal(exchanges.length, 2, 'within the renewal margin');
    gatewayAnswer = 'invalid_token';
    const refused = await send.send(probe(), 4);
    assert.equal(refused.httpStatus, 401);
    gatewayAnswer = 'allow';
    await send.send(probe(), 5);
    assert.equal(exchanges.length, 3);
  });

  it('takes the STS deny of the exchange as the probe decision, without calling the Gateway', async () => {
    const denied = await sender().send(
      probe({ id: 'purge', scopes: ['admin'], method: 'DELETE', expectedDecision: 'deny' }),
      1,
    );
    assert.equal(gatewayCalls.length, 0);
    assert.equal(denied.httpStatus, 403);
    assert.equal(denied.observedDecision, 'deny');
    assert.equal(denied.decisionId, '11111111-1111-4111-8111-111111111111');
    assert.equal(denied.observedRevision, 'rev-1');
    // The request id is the one the STS audited the exchange under.
    assert.deepEqual(exchangeRequestIds, [denied.requestId]);
    assert.match(denied.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(denied.transportError, '');
    assert.equal(denied.answeredBy, 'sts');
  });

  it('records a transport error when the STS or the Gateway does not answer', async () => {
    const closed = await listen(() => undefined);
    const deadUrl = closed.url;
    closed.server.close();
    const noSts = await sender(`${deadUrl}/oauth/2/token`).send(probe(), 1);
    assert.equal(noSts.httpStatus, 0);
    assert.match(noSts.transportError, /token exchange at .* failed/);
    assert.equal(noSts.answeredBy, 'none');

    gatewayAnswer = 'hang';
    const hung = await sender(undefined, 300).send(probe(), 1);
    assert.equal(hung.httpStatus, 0);
    assert.equal(hung.observedDecision, '');
    assert.match(hung.transportError, /Gateway .*: timed out/);
    gateway.server.closeAllConnections();
  });
});
