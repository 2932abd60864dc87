import { hostname } from 'node:os';

import { env, loadConfig, workspaceRoot, type ConfigSource } from '@caracal-deploy/config';
import { z } from 'zod';

const root = workspaceRoot(import.meta.url);

const zoneList = z
  .string()
  .default('zone-demo')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  )
  .refine((zones) => zones.length > 0, { message: 'expected at least one zone' })
  .refine((zones) => zones.every((zone) => /^[a-z0-9][a-z0-9-]*$/.test(zone)), {
    message: 'expected comma-separated zone slugs, e.g. "zone-demo,zone-eu"',
  });

const pathList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const shape = {
  /** This replica's id in replica status reports; unique per process (default hostname-pid). */
  CARACAL_STS_REPLICA_ID: env.string(`${hostname()}-${process.pid}`),
  /** Region this replica serves, reported with its status. */
  CARACAL_STS_REGION: env.string('local'),
  /** Comma-separated zones this replica serves; the first is the default for subject tokens without `zone_id`. */
  CARACAL_STS_ZONES: zoneList,
  /** `iss` of the access tokens this STS issues. */
  CARACAL_STS_ISSUER: env.url('http://127.0.0.1:8480', ['http:', 'https:']),
  /** Interface of the token endpoint (loopback by default; set 0.0.0.0 behind a load balancer). */
  CARACAL_STS_HTTP_HOST: env.string('127.0.0.1'),
  /** Port of the token endpoint (`POST /oauth/2/token`, `GET /.well-known/jwks.json`); 0 picks one. */
  CARACAL_STS_HTTP_PORT: env.port(8480),
  /** Largest token request body in bytes; larger requests get 413. */
  CARACAL_STS_MAX_BODY_BYTES: env.positiveInt(16 * 1024),
  /** Where the gRPC `StsService` (the Gateway's Decide) listens (`host:port`). */
  CARACAL_STS_GRPC_ADDRESS: env.string('127.0.0.1:50081'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_STS_METRICS_PORT: env.port(9480),
  /** Lifetime of issued access tokens, seconds. */
  CARACAL_STS_ACCESS_TOKEN_TTL_SECONDS: env.positiveInt(300),
  /** PEM file of the ES256 (P-256) private key issued tokens are signed with. */
  CARACAL_STS_SIGNING_KEY_FILE: env.string(`${root}/.local/keys/sts-es256.pem`),
  /** Key id of the issuing key: the JWT header `kid` and the JWKS entry. */
  CARACAL_STS_SIGNING_KEY_ID: env.string('caracal-sts-dev'),
  /**
   * DEV ONLY: generate missing key files (the issuing key and the dev subject-token
   * issuer key) with mode 0600 and warn. Set false in production so a missing key fails.
   */
  CARACAL_STS_KEY_AUTOGENERATE: env.boolean(true),
  /** `iss` subject tokens must carry. */
  CARACAL_STS_SUBJECT_ISSUER: env.string('http://127.0.0.1:8490/dev-idp'),
  /**
   * PEM of the subject-token issuer's ES256 key (public, or private: its public half
   * is used). Dev default: a key generated on first start; sign dev subject tokens with it.
   */
  CARACAL_STS_SUBJECT_KEY_FILE: env.string(`${root}/.local/keys/subject-issuer-es256.pem`),
  /** When set, the subject token's header `kid` must equal it. */
  CARACAL_STS_SUBJECT_KEY_ID: z.string().optional(),
  /** When set, subject tokens must name it in `aud`. */
  CARACAL_STS_SUBJECT_AUDIENCE: z.string().optional(),
  /**
   * PEM of the bundle signing key (public, or private: its public half is used);
   * default: the validator's development signing key.
   */
  CARACAL_BUNDLE_PUBLIC_KEY_FILE: env.string(`${root}/.local/keys/bundle-signing-es256.pem`),
  /** Key id bundle signatures must name. */
  CARACAL_BUNDLE_SIGNING_KEY_ID: env.string('caracal-deploy-dev'),
  /** Admin API base URL: bundles (`/v1/bundles/{sha}`) and the zones' catalogs. */
  CARACAL_ADMIN_API_URL: env.url('http://127.0.0.1:8470', ['http:', 'https:']),
  /** Bearer token of a viewer on the Admin API (empty: no Authorization header). */
  CARACAL_STS_ADMIN_API_TOKEN: z.string().default(''),
  /** Timeout of one Admin API request, ms. */
  CARACAL_STS_ADMIN_API_TIMEOUT_MS: env.positiveInt(10_000),
  /** Activation coordinator gRPC address (`ActivationService.GetActiveBinding`). */
  CARACAL_COORDINATOR_GRPC_ADDRESS: env.string('127.0.0.1:50071'),
  /** Redis: the invalidation stream and replica status reports. */
  CARACAL_REDIS_URL: env.url('redis://127.0.0.1:16379', ['redis:', 'rediss:']),
  /** Periodic binding check, ms: repairs a missed invalidation; keeps policy age low when in sync. */
  CARACAL_STS_POLICY_CHECK_INTERVAL_MS: env.positiveInt(10_000),
  /** Kafka brokers for audit events and decision logs. */
  CARACAL_KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  /**
   * Kafka client retries of one request (at least 1: the idempotent producer needs them)
   * before a send fails (the events then stay
   * buffered and are retried by the publisher with backoff).
   */
  CARACAL_STS_KAFKA_RETRIES: z.coerce.number().int().min(1).max(100).default(8),
  /** Topic of audit events (one per decision). */
  CARACAL_AUDIT_TOPIC: env.string('caracal.audit.events'),
  /** Topic of decision logs (full input, result, revision; for replay). */
  CARACAL_DECISION_LOG_TOPIC: env.string('caracal.decision.logs'),
  /**
   * Comma-separated dotted input paths masked in decision logs (e.g.
   * `context.subject_claims.email`); mask only fields policies do not read, or replay differs.
   */
  CARACAL_DECISION_LOG_MASKED_PATHS: pathList,
  /** Decisions buffered while Kafka is slow or down; past it exchanges fail with 503 (no token without an audit record). */
  CARACAL_STS_EVENT_BUFFER_CAPACITY: env.positiveInt(10_000),
  /**
   * At shutdown, how long to keep trying to send buffered decision events, ms; what is
   * still unsent then is logged with its count (an error line to alert on).
   */
  CARACAL_STS_SHUTDOWN_FLUSH_MS: env.millis(5_000),
  /** How long a zone's catalog is served from cache before it is fetched again, ms. */
  CARACAL_STS_CATALOG_TTL_MS: env.positiveInt(30_000),
  /** Most resources cached per zone; a larger catalog is refused (fail closed) rather than truncated. */
  CARACAL_STS_CATALOG_MAX_ENTRIES: env.positiveInt(10_000),
};

/** Validated configuration of the STS. */
export interface StsConfig {
  readonly replicaId: string;
  readonly region: string;
  readonly zones: readonly string[];
  readonly issuer: string;
  readonly http: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly accessTokenTtlSeconds: number;
  readonly keyAutogenerate: boolean;
  readonly signing: { readonly keyFile: string; readonly keyId: string };
  readonly subject: {
    readonly issuer: string;
    readonly keyFile: string;
    readonly keyId: string | undefined;
    readonly audience: string | undefined;
  };
  readonly bundles: { readonly publicKeyFile: string; readonly keyId: string };
  readonly adminApi: { readonly url: string; readonly token: string; readonly timeoutMs: number };
  readonly coordinatorAddress: string;
  readonly redisUrl: string;
  readonly policyCheckIntervalMs: number;
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly retries: number;
    readonly auditTopic: string;
    readonly decisionLogTopic: string;
    readonly maskedPaths: readonly string[];
    readonly bufferCapacity: number;
    readonly shutdownFlushMs: number;
  };
  readonly catalog: { readonly ttlMs: number; readonly maxEntries: number };
}

/** Reads the STS configuration; throws naming each bad key. */
export function loadStsConfig(source?: ConfigSource): StsConfig {
  const c = loadConfig(shape, source);
  return {
    replicaId: c.CARACAL_STS_REPLICA_ID,
    region: c.CARACAL_STS_REGION,
    zones: c.CARACAL_STS_ZONES,
    issuer: c.CARACAL_STS_ISSUER,
    http: {
      host: c.CARACAL_STS_HTTP_HOST,
      port: c.CARACAL_STS_HTTP_PORT,
      maxBodyBytes: c.CARACAL_STS_MAX_BODY_BYTES,
    },
    grpcAddress: c.CARACAL_STS_GRPC_ADDRESS,
    metricsPort: c.CARACAL_STS_METRICS_PORT,
    accessTokenTtlSeconds: c.CARACAL_STS_ACCESS_TOKEN_TTL_SECONDS,
    keyAutogenerate: c.CARACAL_STS_KEY_AUTOGENERATE,
    signing: { keyFile: c.CARACAL_STS_SIGNING_KEY_FILE, keyId: c.CARACAL_STS_SIGNING_KEY_ID },
    subject: {
      issuer: c.CARACAL_STS_SUBJECT_ISSUER,
      keyFile: c.CARACAL_STS_SUBJECT_KEY_FILE,
      keyId: c.CARACAL_STS_SUBJECT_KEY_ID,
      audience: c.CARACAL_STS_SUBJECT_AUDIENCE,
    },
    bundles: {
      publicKeyFile: c.CARACAL_BUNDLE_PUBLIC_KEY_FILE,
      keyId: c.CARACAL_BUNDLE_SIGNING_KEY_ID,
    },
    adminApi: {
      url: c.CARACAL_ADMIN_API_URL.replace(/\/+$/, ''),
      token: c.CARACAL_STS_ADMIN_API_TOKEN,
      timeoutMs: c.CARACAL_STS_ADMIN_API_TIMEOUT_MS,
    },
    coordinatorAddress: c.CARACAL_COORDINATOR_GRPC_ADDRESS,
    redisUrl: c.CARACAL_REDIS_URL,
    policyCheckIntervalMs: c.CARACAL_STS_POLICY_CHECK_INTERVAL_MS,
    kafka: {
      brokers: c.CARACAL_KAFKA_BROKERS,
      retries: c.CARACAL_STS_KAFKA_RETRIES,
      auditTopic: c.CARACAL_AUDIT_TOPIC,
      decisionLogTopic: c.CARACAL_DECISION_LOG_TOPIC,
      maskedPaths: c.CARACAL_DECISION_LOG_MASKED_PATHS,
      bufferCapacity: c.CARACAL_STS_EVENT_BUFFER_CAPACITY,
      shutdownFlushMs: c.CARACAL_STS_SHUTDOWN_FLUSH_MS,
    },
    catalog: { ttlMs: c.CARACAL_STS_CATALOG_TTL_MS, maxEntries: c.CARACAL_STS_CATALOG_MAX_ENTRIES },
  };
}
