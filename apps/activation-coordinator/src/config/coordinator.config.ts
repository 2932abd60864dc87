import { env, loadConfig, type ConfigSource } from '@caracal-deploy/config';

const shape = {
  /** Where `ActivationService` listens (`host:port`; port 0 picks one); the STS's default coordinator address. */
  CARACAL_COORDINATOR_GRPC_ADDRESS: env.string('127.0.0.1:50071'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_COORDINATOR_METRICS_PORT: env.port(9471),
  /** PostgreSQL holding the registry (read) and the coordinator's bindings, activations and outbox. */
  CARACAL_POSTGRES_URL: env.url('postgres://caracal@127.0.0.1:15432/caracal', [
    'postgres:',
    'postgresql:',
  ]),
  /** Redis: the invalidation stream the outbox publishes to and the replicas' status reports. */
  CARACAL_REDIS_URL: env.url('redis://127.0.0.1:16379', ['redis:', 'rediss:']),
  /**
   * A Redis command (a publish, a status read) not answered within this fails, ms: a
   * Redis that accepts connections but never replies must not hold the outbox forever.
   */
  CARACAL_COORDINATOR_REDIS_COMMAND_TIMEOUT_MS: env.positiveInt(5_000),
  /** Apply the coordinator's pending migrations at start (off when a deploy step runs them). */
  CARACAL_COORDINATOR_MIGRATE_ON_START: env.boolean(true),
  /**
   * A replica whose last status report is older than this is not live and does not
   * block convergence, ms; match the STS status TTL (3 × its periodic check).
   */
  CARACAL_COORDINATOR_REPLICA_LIVE_MS: env.positiveInt(30_000),
  /** An activation not converged this long after its commit is stalled, naming its laggards, ms. */
  CARACAL_COORDINATOR_STALL_AFTER_MS: env.positiveInt(30_000),
  /** How often open activations are re-judged (watch streams, the propagation metric), ms. */
  CARACAL_COORDINATOR_PROGRESS_INTERVAL_MS: env.positiveInt(100),
  /** Publish attempts of an outbox row before it is dead-lettered to `caracal.policy.invalidate.dead`. */
  CARACAL_COORDINATOR_OUTBOX_MAX_ATTEMPTS: env.positiveInt(8),
  /** Retry backoff of a failed publish: base and cap, ms (exponential with full jitter). */
  CARACAL_COORDINATOR_OUTBOX_RETRY_BASE_MS: env.positiveInt(100),
  CARACAL_COORDINATOR_OUTBOX_RETRY_MAX_MS: env.positiveInt(10_000),
  /** Safety-net poll of the outbox when no NOTIFY arrives, ms. */
  CARACAL_COORDINATOR_OUTBOX_POLL_MS: env.positiveInt(1_000),
  /** The verification aggregator's `VerificationService` (`host:port`): stage verdicts. */
  CARACAL_VERIFIER_GRPC_ADDRESS: env.string('127.0.0.1:50073'),
  /** The rollback controller's `RollbackService` (`host:port`): rolls touched zones back. */
  CARACAL_ROLLBACK_GRPC_ADDRESS: env.string('127.0.0.1:50072'),
  /**
   * A coordinator replica runs a deployment while it holds the deployment's lease, ms;
   * after a crash another replica (or the restarted one) resumes it once the lease expires.
   */
  CARACAL_COORDINATOR_DEPLOYMENT_LEASE_MS: env.positiveInt(10_000),
  /** Policy age every live replica of a target zone must be under at pre-flight, s (the STS alert threshold). */
  CARACAL_COORDINATOR_PREFLIGHT_MAX_POLICY_AGE_SECONDS: env.positiveInt(30),
  /** Attempts of a rollback call the rollback controller fails with a retryable error before the zone is reported as not rolled back. */
  CARACAL_COORDINATOR_ROLLBACK_ATTEMPTS: env.positiveInt(10),
  /**
   * A verifying stage with no pass or fail this long after its bake and the verifier's own
   * timeout fails (an unreachable verifier never lets a stage pass), ms.
   */
  CARACAL_COORDINATOR_VERDICT_GRACE_MS: env.positiveInt(60_000),
};

/** Validated configuration of the activation coordinator. */
export interface CoordinatorConfig {
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly postgresUrl: string;
  readonly redisUrl: string;
  readonly redisCommandTimeoutMs: number;
  readonly migrateOnStart: boolean;
  readonly convergence: {
    readonly replicaLiveMs: number;
    readonly stallAfterMs: number;
    readonly progressIntervalMs: number;
  };
  readonly outbox: {
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
    readonly pollIntervalMs: number;
  };
  readonly deployments: {
    readonly verifierAddress: string;
    readonly rollbackAddress: string;
    readonly leaseMs: number;
    readonly preflightMaxPolicyAgeSeconds: number;
    readonly rollbackAttempts: number;
    readonly verdictGraceMs: number;
  };
}

/** Injection token of the {@link CoordinatorConfig}. */
export const COORDINATOR_CONFIG = Symbol('COORDINATOR_CONFIG');

/** Reads the coordinator's configuration; throws naming each bad key. */
export function loadCoordinatorConfig(source?: ConfigSource): CoordinatorConfig {
  const c = loadConfig(shape, source);
  return {
    grpcAddress: c.CARACAL_COORDINATOR_GRPC_ADDRESS,
    metricsPort: c.CARACAL_COORDINATOR_METRICS_PORT,
    postgresUrl: c.CARACAL_POSTGRES_URL,
    redisUrl: c.CARACAL_REDIS_URL,
    redisCommandTimeoutMs: c.CARACAL_COORDINATOR_REDIS_COMMAND_TIMEOUT_MS,
    migrateOnStart: c.CARACAL_COORDINATOR_MIGRATE_ON_START,
    convergence: {
      replicaLiveMs: c.CARACAL_COORDINATOR_REPLICA_LIVE_MS,
      stallAfterMs: c.CARACAL_COORDINATOR_STALL_AFTER_MS,
      progressIntervalMs: c.CARACAL_COORDINATOR_PROGRESS_INTERVAL_MS,
    },
    outbox: {
      maxAttempts: c.CARACAL_COORDINATOR_OUTBOX_MAX_ATTEMPTS,
      retryBaseMs: c.CARACAL_COORDINATOR_OUTBOX_RETRY_BASE_MS,
      retryMaxMs: c.CARACAL_COORDINATOR_OUTBOX_RETRY_MAX_MS,
      pollIntervalMs: c.CARACAL_COORDINATOR_OUTBOX_POLL_MS,
    },
    deployments: {
      verifierAddress: c.CARACAL_VERIFIER_GRPC_ADDRESS,
      rollbackAddress: c.CARACAL_ROLLBACK_GRPC_ADDRESS,
      leaseMs: c.CARACAL_COORDINATOR_DEPLOYMENT_LEASE_MS,
      preflightMaxPolicyAgeSeconds: c.CARACAL_COORDINATOR_PREFLIGHT_MAX_POLICY_AGE_SECONDS,
      rollbackAttempts: c.CARACAL_COORDINATOR_ROLLBACK_ATTEMPTS,
      verdictGraceMs: c.CARACAL_COORDINATOR_VERDICT_GRACE_MS,
    },
  };
}
