import { join } from 'node:path';

import {
  appMain,
  freeAddress,
  freePort,
  grpcAnswers,
  grpcHealthIs,
  startServiceProcess,
  stsEnv,
  type InfraSettings,
  type RunningService,
} from '@caracal-deploy/testing';

/** A JSON call on the Admin API that must succeed; returns the parsed body. */
export async function adminCall<T = Record<string, unknown>>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** What one STS replica serves and where it reads and writes. */
export interface StsReplicaOptions {
  readonly replicaId: string;
  readonly region: string;
  readonly zones: readonly string[];
  /** Holds the validator's bundle signing key (`bundle-signing.pem`) and this replica's keys. */
  readonly keyDir: string;
  readonly metricsPort: number;
  readonly adminApiUrl: string;
  readonly adminApiToken: string;
  readonly coordinatorAddress: string;
  readonly auditTopic: string;
  readonly decisionLogTopic: string;
  /** Periodic binding check; defaults to 1 s. */
  readonly policyCheckIntervalMs?: number;
}

/** Boots one STS replica; resolves once it serves over gRPC. */
export async function startSts(
  settings: InfraSettings,
  options: StsReplicaOptions,
): Promise<RunningService & { readonly httpUrl: string; readonly metricsPort: number }> {
  const grpcAddress = await freeAddress();
  const httpPort = await freePort();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const process = await startServiceProcess({
    name: `sts ${options.replicaId}`,
    main: appMain('sts'),
    env: stsEnv({
      replicaId: options.replicaId,
      region: options.region,
      zones: options.zones,
      issuer: httpUrl,
      httpPort,
      grpcAddress,
      metricsPort: options.metricsPort,
      signingKeyFile: join(options.keyDir, `${options.replicaId}-signing.pem`),
      signingKeyId: `sts-${options.replicaId}`,
      subjectKeyFile: join(options.keyDir, 'subject-issuer.pem'),
      bundlePublicKeyFile: join(options.keyDir, 'bundle-signing.pem'),
      bundleSigningKeyId: 'system-e2e',
      adminApiUrl: options.adminApiUrl,
      adminApiToken: options.adminApiToken,
      coordinatorAddress: options.coordinatorAddress,
      redisUrl: settings.redisUrl,
      kafkaBrokers: settings.kafkaBrokers,
      auditTopic: options.auditTopic,
      decisionLogTopic: options.decisionLogTopic,
      policyCheckIntervalMs: options.policyCheckIntervalMs ?? 1_000,
    }),
    // Before its zone's first activation a replica answers NOT_SERVING (it denies everything).
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, httpUrl, metricsPort: options.metricsPort };
}

/** Boots the verification-aggregator on its own database, following `auditTopic`. */
export async function startAggregator(
  settings: InfraSettings,
  options: {
    readonly databaseUrl: string;
    readonly coordinatorAddress: string;
    readonly auditTopic: string;
    readonly grpcAddress?: string;
  },
): Promise<RunningService> {
  const grpcAddress = options.grpcAddress ?? (await freeAddress());
  const process = await startServiceProcess({
    name: 'verification-aggregator',
    main: appMain('verification-aggregator'),
    env: {
      CARACAL_VERIFIER_GRPC_ADDRESS: grpcAddress,
      CARACAL_VERIFIER_METRICS_PORT: '0',
      CARACAL_VERIFIER_POSTGRES_URL: options.databaseUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: options.auditTopic,
      CARACAL_VERIFIER_EVALUATE_INTERVAL_MS: '250',
    },
    ready: grpcHealthIs(grpcAddress),
  });
  return { process, grpcAddress };
}

/** One Gateway route document (libs/gateway-routes): `/api` → `upstream` as resource://api. */
export const apiRoutes = (upstream: string) =>
  JSON.stringify([
    {
      prefix: '/api',
      upstream,
      resource: { identifier: 'resource://api' },
      operations: { GET: 'read', POST: 'write' },
    },
  ]);

/** Boots a region's Gateway in front of `upstream`, deciding with the region's STS replicas. */
export async function startGateway(options: {
  readonly region: string;
  readonly upstream: string;
  readonly sts: readonly { readonly grpcAddress: string; readonly httpUrl: string }[];
  readonly issuer: string;
}): Promise<RunningService & { readonly httpUrl: string }> {
  const grpcAddress = await freeAddress();
  const httpPort = await freePort();
  const process = await startServiceProcess({
    name: `gateway ${options.region}`,
    main: appMain('gateway'),
    env: {
      CARACAL_GATEWAY_REGION: options.region,
      CARACAL_GATEWAY_HTTP_PORT: String(httpPort),
      CARACAL_GATEWAY_GRPC_ADDRESS: grpcAddress,
      CARACAL_GATEWAY_METRICS_PORT: '0',
      CARACAL_GATEWAY_ROUTES: apiRoutes(options.upstream),
      CARACAL_GATEWAY_STS_ADDRESSES: options.sts.map((s) => s.grpcAddress).join(','),
      CARACAL_GATEWAY_STS_JWKS_URLS: options.sts
        .map((s) => `${s.httpUrl}/.well-known/jwks.json`)
        .join(','),
      CARACAL_GATEWAY_TOKEN_ISSUER: options.issuer,
    },
    // Answers before its zone has a bundle (the STS it asks is then NOT_SERVING).
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, httpUrl: `http://127.0.0.1:${httpPort}` };
}

/** Boots a region's canary agent: `probesFile` through the Gateway, reports to the aggregator. */
export async function startCanary(options: {
  readonly region: string;
  readonly zone: string;
  readonly gatewayUrl: string;
  readonly upstream: string;
  readonly stsTokenUrl: string;
  readonly subjectKeyFile: string;
  readonly probesFile: string;
  readonly aggregatorAddress: string;
  readonly intervalMs: number;
}): Promise<RunningService & { readonly metricsPort: number }> {
  const grpcAddress = await freeAddress();
  const metricsPort = await freePort();
  const process = await startServiceProcess({
    name: `canary ${options.region}`,
    main: appMain('canary-agent'),
    env: {
      CARACAL_CANARY_REGION: options.region,
      CARACAL_CANARY_AGENT_ID: `canary-${options.region}`,
      CARACAL_CANARY_GATEWAY_URL: options.gatewayUrl,
      CARACAL_CANARY_STS_TOKEN_URL: options.stsTokenUrl,
      CARACAL_CANARY_SUBJECT_KEY_FILE: options.subjectKeyFile,
      CARACAL_CANARY_ROUTES: apiRoutes(options.upstream),
      CARACAL_CANARY_PROBES_FILE: options.probesFile,
      CARACAL_CANARY_ZONE: options.zone,
      CARACAL_CANARY_AGGREGATOR_ADDRESS: options.aggregatorAddress,
      CARACAL_CANARY_INTERVAL_MS: String(options.intervalMs),
      CARACAL_CANARY_METRICS_PORT: String(metricsPort),
      CARACAL_CANARY_GRPC_ADDRESS: grpcAddress,
    },
    ready: grpcAnswers(grpcAddress),
  });
  return { process, grpcAddress, metricsPort };
}
