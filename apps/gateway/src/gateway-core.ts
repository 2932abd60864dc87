import { Agent } from 'node:http';

import { Logger } from '@nestjs/common';
import type { Registry } from 'prom-client';

import { AccessTokenVerifier } from './auth/access-token.js';
import { JwksKeySet } from './auth/jwks-key-set.js';
import type { GatewayConfig } from './config/gateway.config.js';
import { StsPool } from './decision/sts-pool.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { GatewayHttpServer } from './proxy/gateway.http-server.js';
import { RouteTable } from '@caracal-deploy/gateway-routes';

/** Injection token of the Gateway's {@link GatewayCore}. */
export const GATEWAY_CORE = Symbol('GATEWAY_CORE');

/** The message of an error and of its cause (fetch hides ECONNREFUSED in the cause). */
const describe = (error: unknown): string =>
  error instanceof Error
    ? error.cause instanceof Error
      ? `${error.message}: ${error.cause.message}`
      : error.message
    : String(error);

/**
 * Everything one Gateway runs, wired from its configuration: the STS key set,
 * the token verifier, the STS replica pool and the proxy. {@link start} and
 * {@link stop} own their lifecycles (the gRPC and metrics servers belong to
 * their Nest modules).
 */
export class GatewayCore {
  private readonly logger = new Logger('Gateway');
  readonly keys: JwksKeySet;
  readonly sts: StsPool;
  readonly http: GatewayHttpServer;
  private readonly agent: Agent;

  constructor(
    private readonly config: GatewayConfig,
    registry: Registry,
  ) {
    const metrics = new GatewayMetrics(registry);
    this.keys = new JwksKeySet({
      urls: config.tokens.jwksUrls,
      timeoutMs: config.tokens.jwksTimeoutMs,
      refreshIntervalMs: config.tokens.jwksRefreshMs,
      minRefreshMs: config.tokens.jwksMinRefreshMs,
      onFetchFailed: (url, error) => {
        metrics.jwksFailures.inc({ url });
        this.logger.warn(`fetching the STS keys from ${url} failed: ${describe(error)}`);
      },
    });
    this.sts = new StsPool({
      addresses: config.sts.addresses,
      timeoutMs: config.sts.decideTimeoutMs,
      cooldownMs: config.sts.cooldownMs,
      onReplicaFailed: (address, code) => metrics.stsFailures.inc({ address, code }),
    });
    this.agent = new Agent({ keepAlive: true, maxSockets: config.upstream.maxSockets });
    this.http = new GatewayHttpServer({
      host: config.http.host,
      port: config.http.port,
      maxBodyBytes: config.http.maxBodyBytes,
      routes: new RouteTable(config.routes),
      verifier: new AccessTokenVerifier({
        keys: this.keys,
        issuer: config.tokens.issuer,
        cacheEntries: config.tokens.cacheEntries,
      }),
      sts: this.sts,
      upstreamAgent: this.agent,
      upstreamTimeoutMs: config.upstream.timeoutMs,
      metrics,
      logWarning: (message) => this.logger.warn(message),
    });
  }

  /** Fetches the STS keys (an unreachable STS is logged, not fatal), then opens the proxy. */
  async start(): Promise<void> {
    await this.keys.start();
    const port = await this.http.listen();
    this.logger.log(
      `proxy on port ${port} (region ${this.config.region}); routes ${
        this.config.routes.map((route) => route.prefix || '/').join(', ') || 'none'
      }; STS ${this.config.sts.addresses.join(', ')}; ${this.keys.size} STS key(s)`,
    );
  }

  /** Closes the proxy, then the STS channels and upstream connections. */
  async stop(): Promise<void> {
    await this.http.close().catch(() => undefined);
    this.keys.stop();
    this.sts.close();
    this.agent.destroy();
  }
}
