import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';

import { routesSchema, type Route } from '@caracal-deploy/gateway-routes';

const shape = {
  /** Region this Gateway serves (one Gateway per region), in logs and health. */
  CARACAL_GATEWAY_REGION: env.string('local'),
  /** Interface of the proxy (loopback by default; set 0.0.0.0 behind a load balancer). */
  CARACAL_GATEWAY_HTTP_HOST: env.string('127.0.0.1'),
  /** Port of the proxy; 0 picks one. */
  CARACAL_GATEWAY_HTTP_PORT: env.port(8500),
  /** Where the gRPC HealthService listens (`host:port`). */
  CARACAL_GATEWAY_GRPC_ADDRESS: env.string('127.0.0.1:50091'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_GATEWAY_METRICS_PORT: env.port(9500),
  /**
   * The routes, as a JSON array: `[{"prefix": "/orders/", "upstream": "http://127.0.0.1:9000/orders/",
   * "resource": {"identifier": "resource://orders", "id": "res-orders", "type": "http", "scopes": ["read", "write"]},
   * "operations": {"GET": "read", "POST": {"id": "orders.create", "scope": "write"}}}]`.
   * The prefix is replaced by the upstream's path; resource `id` defaults to the identifier,
   * `type` to http, `scopes` to the operations' scopes; an operation's `id` to "METHOD /prefix".
   */
  CARACAL_GATEWAY_ROUTES: routesSchema,
  /** Comma-separated gRPC addresses of this region's STS replicas (Decide goes to one, failing over). */
  CARACAL_GATEWAY_STS_ADDRESSES: env.list('127.0.0.1:50081'),
  /** Comma-separated JWKS URLs of the STS (the trusted keys are their union). */
  CARACAL_GATEWAY_STS_JWKS_URLS: env.list('http://127.0.0.1:8480/.well-known/jwks.json'),
  /** `iss` of the STS's access tokens (`CARACAL_STS_ISSUER`). */
  CARACAL_GATEWAY_TOKEN_ISSUER: env.string('http://127.0.0.1:8480'),
  /** Deadline of one Decide call, ms; past it the next replica is asked. */
  CARACAL_GATEWAY_DECIDE_TIMEOUT_MS: env.positiveInt(1_000),
  /** How long a failed STS replica is asked only after the others, ms. */
  CARACAL_GATEWAY_STS_COOLDOWN_MS: env.positiveInt(1_000),
  /** Timeout of one JWKS fetch, ms. */
  CARACAL_GATEWAY_JWKS_TIMEOUT_MS: env.positiveInt(2_000),
  /** Periodic JWKS refresh, ms (retired keys stop being trusted after at most this long). */
  CARACAL_GATEWAY_JWKS_REFRESH_MS: env.positiveInt(300_000),
  /** At most one JWKS refetch for an unknown `kid` per this many ms. */
  CARACAL_GATEWAY_JWKS_MIN_REFRESH_MS: env.positiveInt(1_000),
  /** Most verified access tokens remembered (each until it expires), so a signature is checked once. */
  CARACAL_GATEWAY_TOKEN_CACHE_ENTRIES: env.positiveInt(10_000),
  /** Largest request body in bytes; larger requests get 413 (streamed bodies when they cross it). */
  CARACAL_GATEWAY_MAX_BODY_BYTES: env.positiveInt(10 * 1024 * 1024),
  /** Idle timeout of an upstream exchange, ms; then 504. */
  CARACAL_GATEWAY_UPSTREAM_TIMEOUT_MS: env.positiveInt(30_000),
  /** Most concurrent keep-alive connections per upstream. */
  CARACAL_GATEWAY_UPSTREAM_MAX_SOCKETS: env.positiveInt(256),
};

/** Validated configuration of the Gateway. */
export interface GatewayConfig {
  readonly region: string;
  readonly http: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly routes: readonly Route[];
  readonly sts: {
    readonly addresses: readonly string[];
    readonly decideTimeoutMs: number;
    readonly cooldownMs: number;
  };
  readonly tokens: {
    readonly issuer: string;
    readonly jwksUrls: readonly string[];
    readonly jwksTimeoutMs: number;
    readonly jwksRefreshMs: number;
    readonly jwksMinRefreshMs: number;
    readonly cacheEntries: number;
  };
  readonly upstream: { readonly timeoutMs: number; readonly maxSockets: number };
}

/** Reads the Gateway configuration; throws naming each bad key. */
export function loadGatewayConfig(source?: ConfigSource): GatewayConfig {
  const c = loadConfig(shape, source);
  return {
    region: c.CARACAL_GATEWAY_REGION,
    http: {
      host: c.CARACAL_GATEWAY_HTTP_HOST,
      port: c.CARACAL_GATEWAY_HTTP_PORT,
      maxBodyBytes: c.CARACAL_GATEWAY_MAX_BODY_BYTES,
    },
    grpcAddress: c.CARACAL_GATEWAY_GRPC_ADDRESS,
    metricsPort: c.CARACAL_GATEWAY_METRICS_PORT,
    routes: c.CARACAL_GATEWAY_ROUTES,
    sts: {
      addresses: c.CARACAL_GATEWAY_STS_ADDRESSES,
      decideTimeoutMs: c.CARACAL_GATEWAY_DECIDE_TIMEOUT_MS,
      cooldownMs: c.CARACAL_GATEWAY_STS_COOLDOWN_MS,
    },
    tokens: {
      issuer: c.CARACAL_GATEWAY_TOKEN_ISSUER,
      jwksUrls: c.CARACAL_GATEWAY_STS_JWKS_URLS,
      jwksTimeoutMs: c.CARACAL_GATEWAY_JWKS_TIMEOUT_MS,
      jwksRefreshMs: c.CARACAL_GATEWAY_JWKS_REFRESH_MS,
      jwksMinRefreshMs: c.CARACAL_GATEWAY_JWKS_MIN_REFRESH_MS,
      cacheEntries: c.CARACAL_GATEWAY_TOKEN_CACHE_ENTRIES,
    },
    upstream: {
      timeoutMs: c.CARACAL_GATEWAY_UPSTREAM_TIMEOUT_MS,
      maxSockets: c.CARACAL_GATEWAY_UPSTREAM_MAX_SOCKETS,
    },
  };
}
