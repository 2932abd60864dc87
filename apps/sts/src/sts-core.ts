import { Logger } from '@nestjs/common';
import { ActivationService } from '@caracal-deploy/contracts';
import { DecisionEventPublisher, ThreadedKeyedProducer } from '@caracal-deploy/decision-events';
import { ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { clientRetryDefaults } from '@caracal-deploy/kafka';
import { verifyBundleSignature } from '@caracal-deploy/opa';
import { PolicySync } from '@caracal-deploy/policy-sync';
import { createRedis } from '@caracal-deploy/redis';
import { es256Jwk } from '@caracal-deploy/token-exchange';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

import { CatalogCache } from './catalog/catalog-cache.js';
import type { StsConfig } from './config/sts.config.js';
import { decideOverHttp } from './decision/decide-request.js';
import { DecisionEngine } from './decision/decision-engine.js';
import { TokenExchanger } from './exchange/token-exchanger.js';
import { TokenHttpServer } from './http/token.http-server.js';
import { loadEs256KeyFile } from '@caracal-deploy/keys';
import { StsMetrics } from './metrics/sts-metrics.js';
import { GrpcActiveBindingReader } from './sources/active-binding.grpc-reader.js';
import { AdminApiClient } from './sources/admin-api.client.js';

/** Injection token of the replica's {@link StsCore}. */
export const STS_CORE = Symbol('STS_CORE');

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Everything one STS replica runs, wired from its configuration: a runtime per
 * zone, the invalidation follower, the audit publisher, the catalog cache, the
 * decision engine and the token endpoint. {@link start} and {@link stop} own
 * their lifecycles (the gRPC and metrics servers belong to their Nest modules).
 */
export class StsCore {
  private readonly logger = new Logger('Sts');

  private constructor(
    readonly engine: DecisionEngine,
    readonly http: TokenHttpServer,
    readonly runtimes: ReadonlyMap<string, ZonePolicyRuntime>,
    private readonly sync: PolicySync,
    private readonly publisher: DecisionEventPublisher,
    private readonly producers: readonly ThreadedKeyedProducer[],
    private readonly redis: Redis,
    private readonly coordinator: GrpcClient<typeof ActivationService>,
    private readonly shutdownFlushMs: number,
  ) {}

  /** Loads keys (failing on an unusable one), connects Redis and builds every part. */
  static async create(config: StsConfig, registry: Registry): Promise<StsCore> {
    const logger = new Logger('Sts');
    const warn = (message: string) => logger.warn(message);
    const signingKey = await loadEs256KeyFile(config.signing.keyFile, {
      setting: 'CARACAL_STS_SIGNING_KEY_FILE',
      autogenerate: config.keyAutogenerate,
      warn,
    });
    if (!signingKey.privateKey) {
      throw new Error(`CARACAL_STS_SIGNING_KEY_FILE: ${signingKey.file} holds no private key`);
    }
    const subjectKey = await loadEs256KeyFile(config.subject.keyFile, {
      setting: 'CARACAL_STS_SUBJECT_KEY_FILE',
      autogenerate: config.keyAutogenerate,
      warn,
    });
    // Never generated: a bundle key nobody signs with would only reject every bundle.
    const bundleKey = await loadEs256KeyFile(config.bundles.publicKeyFile, {
      setting: 'CARACAL_BUNDLE_PUBLIC_KEY_FILE',
      autogenerate: false,
      warn,
    });

    const runtimes = new Map<string, ZonePolicyRuntime>();
    const metrics = new StsMetrics(registry, runtimes);
    const admin = new AdminApiClient({
      baseUrl: config.adminApi.url,
      token: config.adminApi.token,
      timeoutMs: config.adminApi.timeoutMs,
    });
    for (const zoneId of config.zones) {
      runtimes.set(
        zoneId,
        new ZonePolicyRuntime({
          zoneId,
          source: admin,
          verify: (bytes) => ({
            revision: verifyBundleSignature(bytes, bundleKey.publicKeyPem, {
              keyId: config.bundles.keyId,
            }).manifest.revision,
          }),
          events: {
            onLoaded: (active, loadMs) => {
              metrics.bundleLoads.inc({ zone: zoneId, outcome: 'loaded' });
              logger.log(
                `zone ${zoneId}: serving revision ${active.revision} (loaded in ${Math.round(loadMs)} ms)`,
              );
            },
            onRejected: (target, reason, message) => {
              metrics.bundleLoads.inc({ zone: zoneId, outcome: 'rejected' });
              metrics.bundleRejections.inc({ zone: zoneId, reason });
              if (reason === 'wasm_load_failed') metrics.opaCompileErrors.inc();
              logger.error(
                `zone ${zoneId}: rejected bundle ${target.bundleSha256} (revision ${target.revision}): ${reason}: ${message}; the last good bundle keeps serving`,
              );
            },
            onEvaluationError: (revision, error) =>
              logger.error(
                `zone ${zoneId}: evaluation failed on revision ${revision} (denied): ${describe(error)}`,
              ),
          },
        }),
      );
    }

    const coordinator = createGrpcClient(ActivationService, config.coordinatorAddress);
    const bindings = new GrpcActiveBindingReader(coordinator);
    // Both Redis connections reconnect on their own; while Redis is away, say so
    // at most every 10 s (policy age and the status-write warnings tell the rest).
    let redisErrorLoggedAt = 0;
    const onRedisError = (error: Error) => {
      const now = Date.now();
      if (now - redisErrorLoggedAt < 10_000) return;
      redisErrorLoggedAt = now;
      logger.warn(`Redis connection error, reconnecting: ${describe(error)}`);
    };
    const redis = await createRedis(config.redisUrl, {
      connectionName: `caracal-sts-status-${config.replicaId}`,
      onError: onRedisError,
    });
    const sync = new PolicySync({
      replicaId: config.replicaId,
      region: config.region,
      runtimes,
      bindings,
      redisUrl: config.redisUrl,
      redis,
      checkIntervalMs: config.policyCheckIntervalMs,
      events: {
        onMalformedInvalidation: (id, problems) =>
          logger.warn(`ignored malformed invalidation ${id}: ${problems}`),
        onBindingReadFailed: (zoneId, error) =>
          logger.warn(
            `zone ${zoneId}: reading the active binding failed, keeping the current bundle: ${describe(error)}`,
          ),
        onStatusWriteFailed: (zoneId, error) =>
          logger.warn(`zone ${zoneId}: writing replica status failed: ${describe(error)}`),
        onRedisError,
      },
    });

    const kafkaClient = {
      brokers: config.kafka.brokers,
      clientId: `caracal-sts-${config.replicaId}`,
      retry: { ...clientRetryDefaults, retries: config.kafka.retries },
    };
    // One producer per topic, each on a worker thread: a batch's audit events and
    // decision logs go out in parallel, and their encoding and I/O stay off the
    // thread that decides.
    const producers = [
      new ThreadedKeyedProducer(kafkaClient),
      new ThreadedKeyedProducer(kafkaClient),
    ] as const;
    const refusals = { sinceReport: 0, reportedAt: 0 };
    const publisher = new DecisionEventPublisher({
      producer: producers[0],
      decisionLogProducer: producers[1],
      capacity: config.kafka.bufferCapacity,
      maskedPaths: config.kafka.maskedPaths,
      auditTopic: config.kafka.auditTopic,
      decisionLogTopic: config.kafka.decisionLogTopic,
      events: {
        onFlushFailed: (error, buffered) =>
          logger.error(
            `sending decision events failed, ${buffered} stay buffered: ${describe(error)}`,
          ),
        // Every refusal is counted (caracal_sts_audit_rejected_total); the log says
        // so at most every 10 s, so an overload does not also flood the logs.
        onRejected: (buffered) => {
          refusals.sinceReport += 1;
          const now = Date.now();
          if (now - refusals.reportedAt < 10_000) return;
          logger.error(
            `audit buffer full (${buffered}); refused ${refusals.sinceReport} decision(s) since the last report, refusing until Kafka catches up`,
          );
          refusals.sinceReport = 0;
          refusals.reportedAt = now;
        },
      },
    });

    metrics.observeAuditBuffer(() => publisher.buffered);
    const engine = new DecisionEngine({
      runtimes,
      publisher,
      metrics,
      bindingFacts: (zoneId, revision) => bindings.factsOf(zoneId, revision),
    });
    const catalog = new CatalogCache({
      source: admin,
      ttlMs: config.catalog.ttlMs,
      maxEntries: config.catalog.maxEntries,
      onRefreshFailed: (zoneId, error) =>
        logger.warn(
          `zone ${zoneId}: catalog refresh failed, serving the previous one: ${describe(error)}`,
        ),
    });
    const exchanger = new TokenExchanger({
      engine,
      catalog,
      defaultZone: config.zones[0]!,
      subject: {
        issuer: config.subject.issuer,
        key: (kid) =>
          config.subject.keyId === undefined || kid === config.subject.keyId
            ? subjectKey.publicKey
            : undefined,
        ...(config.subject.audience ? { audience: config.subject.audience } : {}),
      },
      issuing: {
        issuer: config.issuer,
        privateKey: signingKey.privateKey,
        keyId: config.signing.keyId,
        ttlSeconds: config.accessTokenTtlSeconds,
      },
      logError: (message, error) =>
        logger.error(
          `${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        ),
    });
    const http = new TokenHttpServer({
      host: config.http.host,
      port: config.http.port,
      maxBodyBytes: config.http.maxBodyBytes,
      jwks: [es256Jwk(signingKey.privateKey, config.signing.keyId)],
      exchange: (params, context) => exchanger.exchange(params, context),
      decide: (body, requestId) =>
        decideOverHttp(engine, body, requestId, (message, error) =>
          logger.error(
            `${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          ),
        ),
    });
    return new StsCore(
      engine,
      http,
      runtimes,
      sync,
      publisher,
      producers,
      redis,
      coordinator,
      config.kafka.shutdownFlushMs,
    );
  }

  /** Loads every zone's active bundle, follows invalidations, then opens the token endpoint. */
  async start(): Promise<void> {
    await this.sync.start();
    const port = await this.http.listen();
    this.logger.log(
      `token endpoint on port ${port}; zones ${[...this.runtimes.keys()].join(', ')}`,
    );
  }

  /** Closes the endpoint, stops following, flushes what it can to Kafka and disconnects. */
  async stop(): Promise<void> {
    await this.http.close().catch(() => undefined);
    await this.sync.stop();
    // Bounded: a Kafka outage must not hold shutdown forever; what stays unsent is counted in the log.
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.publisher.close().then(() => true),
      new Promise<false>(
        (resolve) => (timer = setTimeout(() => resolve(false), this.shutdownFlushMs)),
      ),
    ]);
    clearTimeout(timer);
    if (!flushed || this.publisher.buffered > 0) {
      this.logger.error(
        `shutting down with ${this.publisher.buffered} decision events not sent to Kafka (lost)`,
      );
    }
    await Promise.all(this.producers.map((p) => p.disconnect().catch(() => undefined)));
    this.coordinator.close();
    this.redis.disconnect();
  }
}
