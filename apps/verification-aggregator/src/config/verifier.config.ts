import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';

const shape = {
  /** Where VerificationService and the shared HealthService are served (`host:port`; port 0 picks one). */
  CARACAL_VERIFIER_GRPC_ADDRESS: env.string('127.0.0.1:50073'),
  /** Port of the `/metrics` endpoint on loopback (0 picks one). */
  CARACAL_VERIFIER_METRICS_PORT: env.port(9473),
  /**
   * The verdict and probe evidence database. The aggregator owns its own
   * database so its migrations never mix with another service's; it is created
   * on start when missing and CARACAL_VERIFIER_CREATE_DATABASE allows it.
   */
  CARACAL_VERIFIER_POSTGRES_URL: env.url(
    'postgres://caracal@127.0.0.1:15432/caracal_verification',
    ['postgres:', 'postgresql:'],
  ),
  /** Create the database named by CARACAL_VERIFIER_POSTGRES_URL on start when it does not exist. */
  CARACAL_VERIFIER_CREATE_DATABASE: env.boolean(true),
  /** Run pending database migrations when the app starts. */
  CARACAL_VERIFIER_MIGRATE_ON_START: env.boolean(true),
  /** gRPC address of the activation coordinator (`host:port`), asked for each zone's activation status. */
  CARACAL_COORDINATOR_GRPC_ADDRESS: env.string('127.0.0.1:50071'),
  /** How long one call to the coordinator may take before the evidence counts as not yet available. */
  CARACAL_VERIFIER_COORDINATOR_TIMEOUT_MS: env.positiveInt(5_000),
  /** Kafka bootstrap brokers (comma-separated `host:port`). */
  CARACAL_KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  /** The topic the STS writes audit events to (caracal-audit-event-2026-05-21). */
  CARACAL_AUDIT_TOPIC: env.string('caracal.audit.events'),
  /** How long a probe report waits for its audit event before it is classified audit_missing. */
  CARACAL_VERIFIER_AUDIT_JOIN_DEADLINE_MS: env.positiveInt(10_000),
  /**
   * On start, audit events are read from this far back, so reports re-sent
   * after a restart still find events written while the aggregator was down.
   */
  CARACAL_VERIFIER_AUDIT_LOOKBACK_MS: env.millis(60_000),
  /** How long an audit event no report has claimed yet is kept in memory. */
  CARACAL_VERIFIER_AUDIT_RETENTION_MS: env.positiveInt(60_000),
  /** Most unclaimed audit events kept in memory (oldest dropped first). */
  CARACAL_VERIFIER_MAX_BUFFERED_AUDIT_EVENTS: env.positiveInt(100_000),
  /** Most probe reports waiting for their audit event; more are classified error (overloaded). */
  CARACAL_VERIFIER_MAX_WAITING_REPORTS: env.positiveInt(10_000),
  /** How often pending stages are judged again (they also are on every new probe of their zones). */
  CARACAL_VERIFIER_EVALUATE_INTERVAL_MS: env.positiveInt(1_000),
  /** How often a verdict watch re-reads the database (changes made by another aggregator replica). */
  CARACAL_VERIFIER_WATCH_POLL_MS: env.positiveInt(1_000),
  /**
   * Stored probe results older than this are deleted: a probe is evidence only
   * for stages running when it was sent, and agents probe all the time.
   */
  CARACAL_VERIFIER_PROBE_RETENTION_MS: env.positiveInt(24 * 3_600_000),
};

/** Validated configuration of verification-aggregator. */
export interface VerifierConfig {
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly postgresUrl: string;
  readonly createDatabase: boolean;
  readonly migrateOnStart: boolean;
  readonly coordinatorAddress: string;
  readonly coordinatorTimeoutMs: number;
  readonly kafkaBrokers: readonly string[];
  readonly auditTopic: string;
  readonly joinDeadlineMs: number;
  readonly auditLookbackMs: number;
  readonly auditRetentionMs: number;
  readonly maxBufferedAuditEvents: number;
  readonly maxWaitingReports: number;
  readonly evaluateIntervalMs: number;
  readonly watchPollMs: number;
  readonly probeRetentionMs: number;
}

/** Reads verification-aggregator's configuration; throws naming each bad key. */
export function loadVerifierConfig(source?: ConfigSource): VerifierConfig {
  const c = loadConfig(shape, source);
  return {
    grpcAddress: c.CARACAL_VERIFIER_GRPC_ADDRESS,
    metricsPort: c.CARACAL_VERIFIER_METRICS_PORT,
    postgresUrl: c.CARACAL_VERIFIER_POSTGRES_URL,
    createDatabase: c.CARACAL_VERIFIER_CREATE_DATABASE,
    migrateOnStart: c.CARACAL_VERIFIER_MIGRATE_ON_START,
    coordinatorAddress: c.CARACAL_COORDINATOR_GRPC_ADDRESS,
    coordinatorTimeoutMs: c.CARACAL_VERIFIER_COORDINATOR_TIMEOUT_MS,
    kafkaBrokers: c.CARACAL_KAFKA_BROKERS,
    auditTopic: c.CARACAL_AUDIT_TOPIC,
    joinDeadlineMs: c.CARACAL_VERIFIER_AUDIT_JOIN_DEADLINE_MS,
    auditLookbackMs: c.CARACAL_VERIFIER_AUDIT_LOOKBACK_MS,
    auditRetentionMs: c.CARACAL_VERIFIER_AUDIT_RETENTION_MS,
    maxBufferedAuditEvents: c.CARACAL_VERIFIER_MAX_BUFFERED_AUDIT_EVENTS,
    maxWaitingReports: c.CARACAL_VERIFIER_MAX_WAITING_REPORTS,
    evaluateIntervalMs: c.CARACAL_VERIFIER_EVALUATE_INTERVAL_MS,
    watchPollMs: c.CARACAL_VERIFIER_WATCH_POLL_MS,
    probeRetentionMs: c.CARACAL_VERIFIER_PROBE_RETENTION_MS,
  };
}

/** Injection token of the {@link VerifierConfig}. */
export const VERIFIER_CONFIG = Symbol('VERIFIER_CONFIG');
