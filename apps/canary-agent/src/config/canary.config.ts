import { hostname } from 'node:os';

import {
  ConfigError,
  env,
  loadConfig,
  workspaceRoot,
  type ConfigSource,
} from '@caracal-deploy/config';
import { z } from 'zod';

import { routesSchema, type Route } from '@caracal-deploy/gateway-routes';

const root = workspaceRoot(import.meta.url);

const zoneSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a zone slug, e.g. "zone-demo"' });

const ratio = z.coerce.number().min(0).max(1);

const httpUrl = z.string().refine(
  (value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { message: 'expected a URL with protocol http: or https:' },
);

const shape = {
  /** Region this agent probes (one agent per region, beside that region's Gateway); a label of every report and series. */
  CARACAL_CANARY_REGION: env.string('local'),
  /** This agent's id in its reports (default hostname-pid). */
  CARACAL_CANARY_AGENT_ID: env.string(`${hostname()}-${process.pid}`),
  /** Base URL of the region's Gateway; probe paths are appended to it. */
  CARACAL_CANARY_GATEWAY_URL: env.url('http://127.0.0.1:8500', ['http:', 'https:']),
  /** The region's STS token endpoint, where canary principals exchange their subject tokens (RFC 8693). */
  CARACAL_CANARY_STS_TOKEN_URL: env.url('http://127.0.0.1:8480/oauth/2/token', ['http:', 'https:']),
  /** PEM of the ES256 private key canary subject tokens are signed with (a key the STS trusts as subject issuer). */
  CARACAL_CANARY_SUBJECT_KEY_FILE: env.string(`${root}/.local/keys/subject-issuer-es256.pem`),
  /** `kid` header of canary subject tokens (the STS checks it when CARACAL_STS_SUBJECT_KEY_ID is set). */
  CARACAL_CANARY_SUBJECT_KEY_ID: env.string('caracal-canary'),
  /** `iss` of canary subject tokens: the STS's CARACAL_STS_SUBJECT_ISSUER. */
  CARACAL_CANARY_SUBJECT_ISSUER: env.string('http://127.0.0.1:8490/dev-idp'),
  /** `aud` of canary subject tokens, when the STS requires one (CARACAL_STS_SUBJECT_AUDIENCE). */
  CARACAL_CANARY_SUBJECT_AUDIENCE: z.string().min(1).optional(),
  /** Lifetime of one canary subject token, seconds. */
  CARACAL_CANARY_SUBJECT_TOKEN_TTL_SECONDS: env.positiveInt(300),
  /** JSON file of static probes (see the app README); unset: only probes derived from expected cases. */
  CARACAL_CANARY_PROBES_FILE: z.string().min(1).optional(),
  /**
   * The Gateway's routes: the same document as its CARACAL_GATEWAY_ROUTES (libs/gateway-routes);
   * expected cases become probes through them (resource identifier → route, action → method).
   */
  CARACAL_CANARY_ROUTES: routesSchema,
  /** Admin API base URL for the policy set's expected cases; unset: no derived probes. */
  CARACAL_CANARY_ADMIN_API_URL: httpUrl.optional(),
  /** Bearer token (viewer role is enough) for the Admin API. */
  CARACAL_CANARY_ADMIN_API_TOKEN: z.string().min(1).optional(),
  /** Zone whose policy set's expected cases become probes; also the zone of static probes that name none. */
  CARACAL_CANARY_ZONE: zoneSlug.default('zone-demo'),
  /** Policy set whose expected cases become probes; unset: no derived probes. */
  CARACAL_CANARY_POLICY_SET: z.string().min(1).optional(),
  /** How often the expected cases are fetched again, ms (the last good set is kept on failure). */
  CARACAL_CANARY_EXPECTED_CASES_REFRESH_MS: env.positiveInt(60_000),
  /** gRPC address of the verification aggregator (`host:port`). */
  CARACAL_CANARY_AGGREGATOR_ADDRESS: env.string('127.0.0.1:50073'),
  /** Time between the starts of two probe rounds, ms. */
  CARACAL_CANARY_INTERVAL_MS: env.positiveInt(5_000),
  /** Each pause is stretched or shortened by up to this share of the interval, at random (0..1). */
  CARACAL_CANARY_JITTER: ratio.default(0.1),
  /** Deadline of one probe (token exchange included), ms. */
  CARACAL_CANARY_TIMEOUT_MS: env.positiveInt(2_000),
  /** Most probes in flight at once. */
  CARACAL_CANARY_CONCURRENCY: env.positiveInt(8),
  /** Most reports held while the aggregator is unreachable or has not classified them; the oldest are dropped (and counted) past it. */
  CARACAL_CANARY_BUFFER_LIMIT: env.positiveInt(10_000),
  /** First pause before reconnecting to the aggregator, ms; doubles up to the maximum. */
  CARACAL_CANARY_RECONNECT_MIN_MS: env.positiveInt(200),
  /** Longest pause between reconnection attempts, ms. */
  CARACAL_CANARY_RECONNECT_MAX_MS: env.positiveInt(5_000),
  /** Port of the `/metrics` endpoint on loopback; 0 picks one. */
  CARACAL_CANARY_METRICS_PORT: env.port(9474),
  /** Where the gRPC HealthService listens (`host:port`; port 0 picks one). */
  CARACAL_CANARY_GRPC_ADDRESS: env.string('127.0.0.1:50074'),
};

/** Where the expected cases of a policy set are read from. */
export interface ExpectedCasesSource {
  readonly adminApiUrl: string;
  readonly token: string;
  readonly zone: string;
  readonly policySet: string;
  readonly refreshMs: number;
}

/** Validated configuration of the canary agent. */
export interface CanaryConfig {
  readonly region: string;
  readonly agentId: string;
  readonly gatewayUrl: string;
  readonly subject: {
    readonly tokenUrl: string;
    readonly keyFile: string;
    readonly keyId: string;
    readonly issuer: string;
    readonly audience: string | undefined;
    readonly ttlSeconds: number;
  };
  readonly probesFile: string | undefined;
  readonly routes: readonly Route[];
  /** The zone of static probes that name none. */
  readonly zone: string;
  /** Undefined when no expected cases are read (no Admin API URL, token or policy set). */
  readonly expectedCases: ExpectedCasesSource | undefined;
  readonly aggregatorAddress: string;
  readonly rounds: {
    readonly intervalMs: number;
    readonly jitter: number;
    readonly timeoutMs: number;
    readonly concurrency: number;
  };
  readonly bufferLimit: number;
  readonly reconnect: { readonly minMs: number; readonly maxMs: number };
  readonly metricsPort: number;
  readonly grpcAddress: string;
}

/** Reads the canary agent's configuration; throws naming each bad key. */
export function loadCanaryConfig(source?: ConfigSource): CanaryConfig {
  const c = loadConfig(shape, source);
  const adminApiUrl = c.CARACAL_CANARY_ADMIN_API_URL;
  const token = c.CARACAL_CANARY_ADMIN_API_TOKEN;
  const policySet = c.CARACAL_CANARY_POLICY_SET;
  if (policySet !== undefined) {
    // Expected cases are asked for by naming a policy set; without where and how to read them that is a mistake.
    const missing = [
      ['CARACAL_CANARY_ADMIN_API_URL', adminApiUrl],
      ['CARACAL_CANARY_ADMIN_API_TOKEN', token],
    ].filter(([, value]) => value === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map(([key]) => ({
          key: key!,
          problem: 'required when CARACAL_CANARY_POLICY_SET is set (to read its expected cases)',
        })),
      );
    }
  }
  return {
    region: c.CARACAL_CANARY_REGION,
    agentId: c.CARACAL_CANARY_AGENT_ID,
    gatewayUrl: c.CARACAL_CANARY_GATEWAY_URL.replace(/\/+$/, ''),
    subject: {
      tokenUrl: c.CARACAL_CANARY_STS_TOKEN_URL,
      keyFile: c.CARACAL_CANARY_SUBJECT_KEY_FILE,
      keyId: c.CARACAL_CANARY_SUBJECT_KEY_ID,
      issuer: c.CARACAL_CANARY_SUBJECT_ISSUER,
      audience: c.CARACAL_CANARY_SUBJECT_AUDIENCE,
      ttlSeconds: c.CARACAL_CANARY_SUBJECT_TOKEN_TTL_SECONDS,
    },
    probesFile: c.CARACAL_CANARY_PROBES_FILE,
    routes: c.CARACAL_CANARY_ROUTES,
    zone: c.CARACAL_CANARY_ZONE,
    expectedCases:
      adminApiUrl !== undefined && token !== undefined && policySet !== undefined
        ? {
            adminApiUrl: adminApiUrl.replace(/\/+$/, ''),
            token,
            zone: c.CARACAL_CANARY_ZONE,
            policySet,
            refreshMs: c.CARACAL_CANARY_EXPECTED_CASES_REFRESH_MS,
          }
        : undefined,
    aggregatorAddress: c.CARACAL_CANARY_AGGREGATOR_ADDRESS,
    rounds: {
      intervalMs: c.CARACAL_CANARY_INTERVAL_MS,
      jitter: c.CARACAL_CANARY_JITTER,
      timeoutMs: c.CARACAL_CANARY_TIMEOUT_MS,
      concurrency: c.CARACAL_CANARY_CONCURRENCY,
    },
    bufferLimit: c.CARACAL_CANARY_BUFFER_LIMIT,
    reconnect: {
      minMs: c.CARACAL_CANARY_RECONNECT_MIN_MS,
      maxMs: c.CARACAL_CANARY_RECONNECT_MAX_MS,
    },
    metricsPort: c.CARACAL_CANARY_METRICS_PORT,
    grpcAddress: c.CARACAL_CANARY_GRPC_ADDRESS,
  };
}
