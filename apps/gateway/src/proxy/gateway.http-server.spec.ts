import assert from 'node:assert/strict';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';

import { UnavailableError } from '@caracal-deploy/errors';
import { Registry } from 'prom-client';

import { TokenRefusal, accessClaims } from '../auth/access-token.js';
import type { DecideOutcome } from '../decision/sts-pool.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { RouteTable, routesSchema } from '@caracal-deploy/gateway-routes';
import { send, type Answer } from '../test-support/http-request.test-support.js';
import { GatewayHttpServer } from './gateway.http-server.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('GatewayHttpServer', () => {
  const seen: Seen[] = [];
  let upstream: Server;
  let gateway: GatewayHttpServer;
  let outcome: DecideOutcome;
  let tokenProblem: Error | undefined;
  const decided: { zoneId: string; requestId: string; input: Record<string, unknown> }[] = [];
  const agent = new Agent({ keepAlive: true });
  const token = { Authorization: 'Bearer header.payload.signature' };
  let firstChunkSeen: () => void = () => undefined;

  before(async () => {
    upstream = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) firstChunkSeen();
        chunks.push(chunk);
      });
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res
          .writeHead(201, {
            'content-type': 'text/plain',
            'x-caracal-decision': 'forged-by-upstream',
            'x-upstream': 'yes',
          })
          .end(`got ${Buffer.concat(chunks).length} bytes`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    gateway = new GatewayHttpServer({
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1_000_000,
      routes: new RouteTable(
        routesSchema.parse(
          JSON.stringify([
            {
              prefix: '/orders/',
              upstream: `http://127.0.0.1:${upstreamPort}/api/orders/`,
              resource: { identifier: 'resource://orders', id: 'res-orders' },
              operations: { GET: 'read', POST: { id: 'orders.create', scope: 'write' } },
            },
          ]),
        ),
      ),
      verifier: {
        authorize: (_token, audience) => {
          if (tokenProblem) return Promise.reject(tokenProblem);
          return Promise.resolve(
            accessClaims({
              sub: 'user-1',
              aud: audience,
              exp: 2e9,
              zone_id: 'zone-1',
              scope: 'read write',
            }),
          );
        },
      },
      sts: {
        decide: (zoneId, requestId, input) => {
          decided.push({ zoneId, requestId, input: input as Record<string, unknown> });
          return Promise.resolve(outcome);
        },
      },
      upstreamAgent: agent,
      upstreamTimeoutMs: 5_000,
      metrics: new GatewayMetrics(new Registry()),
      logWarning: () => undefined,
    });
    await gateway.listen();
  });

  beforeEach(() => {
    seen.length = 0;
    decided.length = 0;
    tokenProblem = undefined;
    outcome = {
      kind: 'decided',
      decision: 'allow',
      decisionId: 'dec-1',
      revision: 'rev-1',
      reason: '',
      address: 'sts',
    };
  });

  after(async () => {
    await gateway.close();
    agent.destroy();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('forwards an allowed request with the decision headers, dropping forged x-caracal-* both ways', async () => {
    const answer = await send(gateway.port, {
      method: 'POST',
      path: '/orders/42?x=1',
      headers: {
        ...token,
        'x-request-id': 'req-1',
        'x-caracal-decision': 'allow',
        'x-caracal-decision-id': 'forged',
        'content-type': 'text/plain',
      },
      body: ['hello'],
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.body, 'got 5 bytes');
    assert.equal(answer.headers['x-request-id'], 'req-1');
    assert.equal(answer.headers['x-caracal-decision'], 'allow');
    assert.equal(answer.headers['x-caracal-decision-id'], 'dec-1');
    assert.equal(answer.headers['x-caracal-policy-revision'], 'rev-1');
    assert.equal(answer.headers['x-upstream'], 'yes');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, '/api/orders/42?x=1');
    assert.equal(seen[0]!.body, 'hello');
    assert.equal(seen[0]!.headers['x-request-id'], 'req-1');
    assert.equal(seen[0]!.headers['x-caracal-decision-id'], 'dec-1');
    assert.equal(seen[0]!.headers['x-caracal-decision'], undefined);
    assert.equal(decided[0]!.requestId, 'req-1');
    assert.deepEqual(decided[0]!.input['action'], {
      id: 'orders.create',
      method: 'POST',
      path: '/orders/42',
    });
  });

  it('denies before touching the upstream, with the STS decision id', async () => {
    outcome = {
      kind: 'decided',
      decision: 'deny',
      decisionId: 'dec-2',
      revision: 'rev-1',
      reason: '',
      address: 'sts',
    };
    const answer = await send(gateway.port, {
      method: 'POST',
      path: '/orders/',
      headers: token,
      body: ['x'],
    });
    assert.equal(answer.status, 403);
    assert.equal((JSON.parse(answer.body) as Record<string, string>)['error'], 'access_denied');
    assert.equal(answer.headers['x-caracal-decision'], 'deny');
    assert.equal(answer.headers['x-caracal-decision-id'], 'dec-2');
    assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(seen.length, 0);
  });

  it('answers 503 and never forwards when no STS replica decides', async () => {
    outcome = { kind: 'unavailable', message: 'all down' };
    const answer = await send(gateway.port, { path: '/orders/1', headers: token });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['x-caracal-decision'], 'deny');
    assert.equal(answer.headers['x-caracal-policy-revision'], 'none');
    assert.equal(seen.length, 0);
    tokenProblem = new UnavailableError('no JWKS source is reachable');
    assert.equal((await send(gateway.port, { path: '/orders/1', headers: token })).status, 503);
  });

  it('refuses missing and invalid tokens (401) and missing scopes (403) without asking the STS', async () => {
    const missing = await send(gateway.port, { path: '/orders/1' });
    assert.equal(missing.status, 401);
    assert.equal((JSON.parse(missing.body) as Record<string, string>)['error'], 'invalid_token');
    assert.match(String(missing.headers['www-authenticate']), /^Bearer /);
    tokenProblem = new TokenRefusal('invalid_token', 'expired at 1');
    const expired = await send(gateway.port, { path: '/orders/1', headers: token });
    assert.equal(expired.status, 401);
    assert.match(
      (JSON.parse(expired.body) as Record<string, string>)['error_description']!,
      /expired/,
    );
    tokenProblem = new TokenRefusal('insufficient_scope', 'needs write', 'write');
    const scoped = await send(gateway.port, { path: '/orders/1', headers: token });
    assert.equal(scoped.status, 403);
    assert.match(String(scoped.headers['www-authenticate']), /scope="write"/);
    assert.equal(decided.length, 0);
    assert.equal(seen.length, 0);
  });

  it('answers 404 off-route, 405 for unmapped methods and 400 for traversal, each with decision headers', async () => {
    const none = await send(gateway.port, { path: '/billing', headers: token });
    assert.equal(none.status, 404);
    assert.equal(none.headers['x-caracal-decision'], 'deny');
    const method = await send(gateway.port, {
      method: 'DELETE',
      path: '/orders/1',
      headers: token,
    });
    assert.equal(method.status, 405);
    assert.equal(method.headers['allow'], 'GET, POST');
    const traversal = await send(gateway.port, { path: '/orders/%2e%2e/admin', headers: token });
    assert.equal(traversal.status, 400);
    assert.equal(seen.length, 0);
  });

  it('refuses a declared oversized body with 413 before the upstream', async () => {
    const answer = await send(gateway.port, {
      method: 'POST',
      path: '/orders/',
      headers: { ...token, 'content-length': '2000000' },
      body: [Buffer.alloc(64 * 1024)],
    });
    assert.equal(answer.status, 413);
    assert.equal(answer.headers['x-caracal-decision'], 'deny');
    assert.equal(decided.length, 0);
    assert.equal(seen.length, 0);
  });

  it('cuts a streamed body at the limit with 413', async () => {
    const chunk = Buffer.alloc(256 * 1024, 1);
    const answer = await send(gateway.port, {
      method: 'POST',
      path: '/orders/',
      headers: { ...token, 'transfer-encoding': 'chunked' },
      body: Array.from({ length: 8 }, () => chunk),
    });
    assert.equal(answer.status, 413);
    assert.equal(seen.length, 0, 'the upstream never saw a complete request');
  });

  it('answers Expect: 100-continue only once allowed, so a denied upload is never sent', async () => {
    const expecting = () =>
      new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = httpRequest({
          host: '127.0.0.1',
          port: gateway.port,
          method: 'POST',
          path: '/orders/',
          headers: { ...token, expect: '100-continue', 'content-length': '5' },
        });
        req.on('continue', () => {
          continued = true;
          req.end('hello');
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    outcome = {
      kind: 'decided',
      decision: 'deny',
      decisionId: 'dec-3',
      revision: 'rev-1',
      reason: '',
      address: 'sts',
    };
    assert.deepEqual(await expecting(), { status: 403, continued: false });
    outcome = { ...outcome, decision: 'allow' };
    assert.deepEqual(await expecting(), { status: 201, continued: true });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.body, 'hello');
  });

  it('answers a request node:http cannot parse with 400 and the decision headers', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(gateway.port, '127.0.0.1', () => {
        socket.write('GET /orders/1 HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(raw, /\r\nx-caracal-decision: deny\r\n/);
    assert.match(raw, /\r\nx-request-id: [0-9a-f-]{36}\r\n/);
    assert.equal(seen.length, 0);
  });

  it('streams the upload: the upstream reads the first chunk before the caller sends the rest', async () => {
    const upstreamGotFirst = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    const answered = new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: gateway.port,
        method: 'POST',
        path: '/orders/',
        headers: { ...token, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('error', reject);
      req.write('first;');
      void upstreamGotFirst.then(() => req.end('second'));
    });
    const answer = await answered;
    assert.equal(answer.status, 201);
    assert.equal(seen[0]!.body, 'first;second');
  });
});
