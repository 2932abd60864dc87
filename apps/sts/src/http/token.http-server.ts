import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Es256Jwk } from '@caracal-deploy/token-exchange';

import { decidePath } from '../decision/decide-request.js';
import { oauthError, type ExchangeContext, type HttpAnswer } from '../exchange/token-exchanger.js';

/** Path of the RFC 8693 token endpoint. */
export const tokenPath = '/oauth/2/token';
/** Path of the JWKS that publishes the issuing key. */
export const jwksPath = '/.well-known/jwks.json';

/** Options of {@link TokenHttpServer}. */
export interface TokenHttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body in bytes; larger → 413. */
  readonly maxBodyBytes: number;
  readonly jwks: readonly Es256Jwk[];
  readonly exchange: (
    params: Record<string, string | string[]>,
    context: ExchangeContext,
  ) => Promise<HttpAnswer>;
  /** Answers `POST /v1/decide` from its parsed JSON body (see `decideOverHttp`). */
  readonly decide: (body: unknown, requestId: string) => HttpAnswer;
}

class BodyTooLarge extends Error {}

/**
 * The STS's HTTP surface on plain node:http (no framework on the hot path):
 * `POST /oauth/2/token` (form body, size-limited), `POST /v1/decide` (JSON body,
 * size-limited; the Gateway's decision over HTTP) and `GET /.well-known/jwks.json`.
 * Every answer carries `x-request-id` and `cache-control: no-store`.
 */
export class TokenHttpServer {
  private readonly server: Server;

  constructor(private readonly options: TokenHttpServerOptions) {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  /** Binds; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections and closes idle ones; resolves when all are gone. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = requestIdOf(request.headers['x-request-id']);
    const send = (answer: HttpAnswer) => {
      if (response.headersSent) return;
      const text = JSON.stringify(answer.body);
      // An explicit length keeps keep-alive answers out of chunked encoding: the
      // head and the body leave in one write instead of five.
      response
        .writeHead(answer.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
          'x-request-id': requestId,
          ...answer.headers,
        })
        .end(text);
    };
    const path = new URL(request.url ?? '/', 'http://sts').pathname;
    if (path === jwksPath) {
      if (request.method !== 'GET') return send(methodNotAllowed('GET'));
      return send({ status: 200, body: { keys: this.options.jwks } });
    }
    if (path === decidePath) return this.handleDecide(request, requestId, send);
    if (path !== tokenPath)
      return send(
        oauthError(404, 'not_found', `no route ${path}; the token endpoint is POST ${tokenPath}`),
      );
    if (request.method !== 'POST') return send(methodNotAllowed('POST'));
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      request.resume();
      return send(
        oauthError(
          400,
          'invalid_request',
          `content-type must be application/x-www-form-urlencoded, got ${JSON.stringify(type || null)}`,
        ),
      );
    }
    let body: string;
    try {
      body = await readBody(request, this.options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        response.setHeader('connection', 'close');
        return send(
          oauthError(
            413,
            'invalid_request',
            `the request body exceeds ${this.options.maxBodyBytes} bytes`,
          ),
        );
      }
      return send(oauthError(400, 'invalid_request', 'the request body could not be read'));
    }
    const params: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(body)) {
      const existing = params[key];
      params[key] =
        existing === undefined
          ? value
          : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    const traceparent = request.headers['traceparent'];
    send(
      await this.options.exchange(params, {
        requestId,
        ...(typeof traceparent === 'string' ? { traceparent } : {}),
      }),
    );
  }

  private async handleDecide(
    request: IncomingMessage,
    requestId: string,
    send: (answer: HttpAnswer) => void,
  ): Promise<void> {
    const refuse = (status: number, message: string, headers?: Record<string, string>) =>
      send({
        status,
        body: { error: { code: 'invalid_argument', message, violations: [] } },
        ...(headers ? { headers } : {}),
      });
    if (request.method !== 'POST') {
      request.resume();
      return refuse(405, 'method not allowed; use POST', { allow: 'POST' });
    }
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      request.resume();
      return refuse(
        400,
        `content-type must be application/json, got ${JSON.stringify(type || null)}`,
      );
    }
    let text: string;
    try {
      text = await readBody(request, this.options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return refuse(413, `the request body exceeds ${this.options.maxBodyBytes} bytes`, {
          connection: 'close',
        });
      }
      return refuse(400, 'the request body could not be read');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return refuse(400, `the request body is not JSON: ${(error as Error).message}`);
    }
    send(this.options.decide(body, requestId));
  }
}

function methodNotAllowed(allowed: string): HttpAnswer {
  return {
    ...oauthError(405, 'invalid_request', `method not allowed; use ${allowed}`),
    headers: { allow: allowed },
  };
}

/** The caller's `x-request-id` when it is a sane token (≤ 128 of `[A-Za-z0-9._:-]`), else a fresh UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header)
    ? header
    : randomUUID();
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      // Drain without keeping anything, so the 413 can be written on a healthy socket.
      request.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}
