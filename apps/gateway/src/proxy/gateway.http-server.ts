import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type Agent,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import { DeployError } from '@caracal-deploy/errors';

import { TokenRefusal, bearerToken, type AccessTokenVerifier } from '../auth/access-token.js';
import { buildGatewayInput, traceIdOf } from '../decision/policy-input.js';
import type { StsDecision, StsPool } from '../decision/sts-pool.js';
import type { GatewayMetrics, Outcome } from '../metrics/gateway-metrics.js';
import {
  splitTarget,
  unsafePathReason,
  upstreamPath,
  type Route,
  type RouteTable,
} from '@caracal-deploy/gateway-routes';
import {
  decisionHeaders,
  forwardableHeaders,
  forwardedFor,
  requestIdOf,
  type DecisionHeaders,
} from './headers.js';

/** Options of {@link GatewayHttpServer}. */
export interface GatewayHttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest request body in bytes; larger → 413 (declared: before anything else; streamed: when crossed). */
  readonly maxBodyBytes: number;
  readonly routes: RouteTable;
  readonly verifier: Pick<AccessTokenVerifier, 'authorize'>;
  readonly sts: Pick<StsPool, 'decide'>;
  /** Keep-alive agent for upstream connections. */
  readonly upstreamAgent: Agent;
  /** Idle timeout of an upstream exchange, ms; then 504. */
  readonly upstreamTimeoutMs: number;
  readonly metrics: GatewayMetrics;
  /** Receives failures worth an operator's attention (the caller gets a generic answer). */
  readonly logWarning: (message: string) => void;
}

/** Bodies up to this size are drained after a refusal to keep the connection; larger ones close it. */
const drainLimitBytes = 64 * 1024;

interface Refusal {
  readonly status: number;
  readonly outcome: Outcome;
  readonly error: string;
  readonly description: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The STS decision behind a policy deny. */
  readonly decision?: StsDecision;
}

/**
 * The Gateway's reverse proxy on plain node:http: route by path prefix, check
 * the bearer token (JWKS, issuer, expiry, audience, scope), ask the STS for a
 * decision, and only on allow stream the request to the upstream and its
 * answer back. Nothing is buffered: the request body waits in the socket
 * (backpressure) until the decision, then is piped. Every answer carries
 * `x-request-id` and the `x-caracal-*` decision headers; callers' and
 * upstreams' own `x-caracal-*` headers are dropped.
 */
export class GatewayHttpServer {
  private readonly server: Server;

  constructor(private readonly options: GatewayHttpServerOptions) {
    this.server = createServer((request, response) => {
      void this.handleSafely(request, response, false);
    });
    // Answer `Expect: 100-continue` only once allowed, so a denied upload is never sent.
    this.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
      void this.handleSafely(request, response, true);
    });
    // Requests node:http cannot parse get the decision headers too, not a bare 400.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      // `_httpMessage` is node's own marker of a response being written on this socket
      // (its default handler checks it too): raw bytes then would corrupt that response.
      if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
        socket.destroy();
        return;
      }
      const [status, reason] =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout']
            : [400, 'Bad Request'];
      const body = JSON.stringify({
        error: 'invalid_request',
        error_description: `malformed HTTP request (${error.code ?? 'unknown'})`,
      });
      const headers = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
        ...decisionHeaders({
          requestId: randomUUID(),
          decision: 'deny',
          decisionId: randomUUID(),
          revision: '',
        }),
      };
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('')}\r\n${body}`,
      );
    });
  }

  /** Binds; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.port;
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

  /** {@link handle}, with an unexpected failure logged and answered 500 (still never forwarded). */
  private async handleSafely(
    request: IncomingMessage,
    response: ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> {
    try {
      await this.handle(request, response, expectsContinue);
    } catch (error) {
      this.options.logWarning(
        `request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response
        .writeHead(500, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          connection: 'close',
          ...decisionHeaders({
            requestId: requestIdOf(request.headers['x-request-id']),
            decision: 'deny',
            decisionId: randomUUID(),
            revision: '',
          }),
        })
        .end(JSON.stringify({ error: 'server_error', error_description: 'internal error' }));
    }
  }

  private async handle(
    request: IncomingMessage,
    response: ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> {
    const started = performance.now();
    const requestId = requestIdOf(request.headers['x-request-id']);
    const { metrics } = this.options;
    let routeLabel = 'none';
    const refuse = (refusal: Refusal) => {
      const decision = refusal.decision;
      const facts: DecisionHeaders = {
        requestId,
        decision: 'deny',
        decisionId: decision?.decisionId || randomUUID(),
        revision: decision?.revision ?? '',
      };
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        ...refusal.headers,
        ...decisionHeaders(facts),
      };
      // An unread body is dropped with the connection when it is large, or was never sent
      // (no 100 Continue): otherwise its bytes would be read as the next request.
      if (!request.complete && (expectsContinue || !bodyDrainable(request))) {
        headers['connection'] = 'close';
      }
      metrics.requests.inc({ route: routeLabel, decision: 'deny', outcome: refusal.outcome });
      response.once('finish', () =>
        metrics.requestSeconds.observe({ decision: 'deny' }, (performance.now() - started) / 1_000),
      );
      response.writeHead(refusal.status, headers).end(
        JSON.stringify({
          error: refusal.error,
          error_description: refusal.description,
          ...(decision ? { decision_id: decision.decisionId } : {}),
          ...refusal.extra,
        }),
      );
    };

    const { path, query } = splitTarget(request.url ?? '/');
    const unsafe = unsafePathReason(path);
    if (unsafe) {
      return refuse({
        status: 400,
        outcome: 'bad_request',
        error: 'invalid_request',
        description: unsafe,
      });
    }
    const route = this.options.routes.match(path);
    if (!route) {
      return refuse({
        status: 404,
        outcome: 'no_route',
        error: 'not_found',
        description: `no route serves ${path}`,
      });
    }
    routeLabel = route.prefix || '/';
    const method = request.method ?? 'GET';
    const operation = route.operations.get(method);
    if (!operation) {
      const allowed = [...route.operations.keys()].join(', ');
      return refuse({
        status: 405,
        outcome: 'method_not_allowed',
        error: 'invalid_request',
        description: `${method} is not an operation of ${routeLabel}; allowed: ${allowed}`,
        headers: { allow: allowed },
      });
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > this.options.maxBodyBytes) {
      return refuse({
        status: 413,
        outcome: 'too_large',
        error: 'invalid_request',
        description: `the request body exceeds ${this.options.maxBodyBytes} bytes`,
      });
    }

    const bearer = bearerToken(request.headers.authorization);
    if ('problem' in bearer) {
      return refuse({
        status: 401,
        outcome: 'invalid_token',
        error: 'invalid_token',
        description:
          bearer.problem === 'missing'
            ? 'a bearer access token from the STS is required'
            : 'the Authorization header is not "Bearer <token>"',
        headers: { 'www-authenticate': 'Bearer realm="caracal-gateway", error="invalid_token"' },
      });
    }
    let claims;
    try {
      claims = await this.options.verifier.authorize(
        bearer.token,
        route.resource.identifier,
        operation.scope,
      );
    } catch (error) {
      if (error instanceof TokenRefusal) {
        const scoped = error.error === 'insufficient_scope';
        return refuse({
          status: scoped ? 403 : 401,
          outcome: error.error,
          error: error.error,
          description: error.message,
          headers: {
            'www-authenticate': `Bearer realm="caracal-gateway", error="${error.error}"${scoped ? `, scope="${error.scope}"` : ''}`,
          },
        });
      }
      const message = error instanceof DeployError ? error.message : 'token verification failed';
      if (!(error instanceof DeployError)) this.options.logWarning(`${message}: ${String(error)}`);
      return refuse({
        status: 503,
        outcome: 'sts_unavailable',
        error: 'temporarily_unavailable',
        description: message,
        headers: { 'retry-after': '1' },
      });
    }

    const decideStarted = performance.now();
    const traceId = traceIdOf(request.headers['traceparent']);
    const outcome = await this.options.sts.decide(
      claims.zoneId,
      requestId,
      buildGatewayInput({
        claims,
        resource: route.resource,
        operation,
        method,
        path,
        ...(traceId ? { traceId } : {}),
      }),
    );
    metrics.decideSeconds.observe((performance.now() - decideStarted) / 1_000);
    if (outcome.kind === 'unavailable') {
      this.options.logWarning(`request ${requestId}: no STS replica decided: ${outcome.message}`);
      return refuse({
        status: 503,
        outcome: 'sts_unavailable',
        error: 'temporarily_unavailable',
        description: 'the STS is unavailable; the request was not forwarded',
        headers: { 'retry-after': '1' },
      });
    }
    if (outcome.kind === 'zone_not_served') {
      return refuse({
        status: 403,
        outcome: 'zone_not_served',
        error: 'access_denied',
        description: `zone ${claims.zoneId} is not served by this region's STS`,
      });
    }
    if (outcome.decision !== 'allow') {
      return refuse({
        status: 403,
        outcome: 'policy_denied',
        error: 'access_denied',
        description:
          outcome.reason === 'no_active_policy_set'
            ? `zone ${claims.zoneId} has no active policy set; every request is denied`
            : `the policy of zone ${claims.zoneId} denied ${operation.id} on ${route.resource.identifier}`,
        decision: outcome,
        ...(outcome.reason ? { extra: { reason: outcome.reason } } : {}),
      });
    }
    // The caller went away while the STS decided: nothing to forward for.
    if (response.destroyed) return;
    this.forward(request, response, route, path, query, {
      requestId,
      expectsContinue,
      decision: outcome,
      started,
      refuse,
    });
  }

  private forward(
    request: IncomingMessage,
    response: ServerResponse,
    route: Route,
    path: string,
    query: string,
    call: {
      readonly requestId: string;
      readonly expectsContinue: boolean;
      readonly decision: StsDecision;
      readonly started: number;
      readonly refuse: (refusal: Refusal) => void;
    },
  ): void {
    const { metrics } = this.options;
    const routeLabel = route.prefix || '/';
    const answerHeaders = decisionHeaders({
      requestId: call.requestId,
      decision: 'allow',
      decisionId: call.decision.decisionId,
      revision: call.decision.revision,
    });
    const headers = forwardableHeaders(request.headers);
    delete headers['expect'];
    headers['x-request-id'] = call.requestId;
    const forwarded = forwardedFor(
      request.headers['x-forwarded-for'],
      request.socket.remoteAddress,
    );
    if (forwarded) headers['x-forwarded-for'] = forwarded;
    if (request.headers.host) headers['x-forwarded-host'] = request.headers.host;
    headers['x-forwarded-proto'] = 'http';
    // The upstream may trust these: every caller-sent x-caracal-* header was dropped above.
    headers['x-caracal-decision-id'] = call.decision.decisionId;
    headers['x-caracal-policy-revision'] = call.decision.revision || 'none';

    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      metrics.requests.inc({ route: routeLabel, decision: 'allow', outcome });
      metrics.requestSeconds.observe(
        { decision: 'allow' },
        (performance.now() - call.started) / 1_000,
      );
    };
    const failUpstream = (status: number, description: string) => {
      finish('upstream_error');
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response
        .writeHead(status, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          ...answerHeaders,
        })
        .end(JSON.stringify({ error: 'upstream_unavailable', error_description: description }));
    };

    const upstream = httpRequest({
      protocol: 'http:',
      hostname: route.upstream.hostname,
      port: route.upstream.port || 80,
      method: request.method,
      path: upstreamPath(route, path, query),
      headers,
      agent: this.options.upstreamAgent,
    });
    metrics.overheadSeconds.observe((performance.now() - call.started) / 1_000);
    upstream.setTimeout(this.options.upstreamTimeoutMs, () =>
      upstream.destroy(new UpstreamTimeout()),
    );
    upstream.on('response', (answer) => {
      const out = forwardableHeaders(answer.headers);
      Object.assign(out, answerHeaders);
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
      answer.pipe(response);
      answer.on('error', () => response.destroy());
      answer.on('end', () => finish('forwarded'));
    });
    upstream.on('error', (error) => {
      if (error instanceof BodyTooLarge) return;
      this.options.logWarning(
        `request ${call.requestId}: upstream ${route.upstream.origin} failed: ${error.message}`,
      );
      failUpstream(error instanceof UpstreamTimeout ? 504 : 502, 'the upstream did not answer');
    });
    // A caller that goes away cancels the upstream exchange.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });

    if (hasNoBody(request)) {
      // Nothing to stream (most GETs): send the upstream request now, without a pipe.
      request.resume();
      upstream.end();
      return;
    }
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= this.options.maxBodyBytes) return;
      request.unpipe(upstream);
      upstream.destroy(new BodyTooLarge());
      if (response.headersSent) {
        response.destroy();
        return;
      }
      settled = true;
      // The policy allowed the request, the size limit refused it: a Gateway deny of its own.
      call.refuse({
        status: 413,
        outcome: 'too_large',
        error: 'invalid_request',
        description: `the request body exceeds ${this.options.maxBodyBytes} bytes`,
      });
    });
    request.on('error', () => upstream.destroy());
    if (call.expectsContinue) response.writeContinue();
    request.pipe(upstream);
  }
}

class BodyTooLarge extends Error {}
class UpstreamTimeout extends Error {
  constructor() {
    super('the upstream timed out');
  }
}

/** Whether a request has no body at all (HTTP/1.1: neither content-length nor transfer-encoding, or length 0). */
function hasNoBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')
  );
}

/** Whether the rest of a refused request's body is small enough to read and drop (keeping the connection). */
function bodyDrainable(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length === undefined) return request.headers['transfer-encoding'] === undefined;
  return Number(length) <= drainLimitBytes;
}
