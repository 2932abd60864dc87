import { env, loadConfig, workspaceRoot, type ConfigSource } from '@caracal-deploy/config';
import { z } from 'zod';

const root = workspaceRoot(import.meta.url);

/**
 * Default deprecated → canonical names for the terminology lint, chosen from the
 * Caracal contracts' own field names: results carry `decision`, not `allowed`; the
 * record behind `session` is an authority record (`session_id` is only kept as a
 * versioned wire key); catalog resources are named by `identifier`.
 */
const defaultTerms =
  'allowed=decision,whitelist=allowlist,blacklist=denylist,session_id=authority_record_id,resource_uri=identifier';

const shape = {
  /** Where the validator's gRPC services listen (`host:port`; port 0 picks one). */
  CARACAL_VALIDATOR_GRPC_ADDRESS: env.string('127.0.0.1:50061'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_VALIDATOR_METRICS_PORT: env.port(9461),
  /** The `opa` CLI used to compile and build policies; tools/infra installs it here. */
  CARACAL_OPA_BIN: env.string(`${root}/.local/bin/opa`),
  /** PEM file of the ECDSA P-256 private key bundles are signed with (ES256, OPA's `.signatures.json`). */
  CARACAL_BUNDLE_SIGNING_KEY_FILE: env.string(`${root}/.local/keys/bundle-signing-es256.pem`),
  /** Key id written into every bundle signature; verifiers pick their public key by it. */
  CARACAL_BUNDLE_SIGNING_KEY_ID: env.string('caracal-deploy-dev'),
  /**
   * DEV ONLY: when the key file is missing, generate a P-256 key there (mode 0600) and
   * log a warning. Set to false in production so a missing key fails instead.
   */
  CARACAL_BUNDLE_SIGNING_KEY_AUTOGENERATE: env.boolean(true),
  /**
   * Terminology lint: comma-separated `deprecated=canonical` pairs; a Rego identifier
   * or data key equal to a deprecated name is reported as a warning.
   */
  /** Kafka brokers holding the recorded decisions replay reads. */
  CARACAL_KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  /** Topic the STS writes recorded decisions to (input, result, revision; keyed by zone). */
  CARACAL_DECISION_LOG_TOPIC: env.string('caracal.decision.logs'),
  /** Largest batch of declared cases one Simulate call may carry. */
  CARACAL_SIMULATION_MAX_CASES: env.positiveInt(1_000),
  /** Replay worker threads; 0 means one per core. */
  CARACAL_REPLAY_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  CARACAL_VALIDATOR_DEPRECATED_TERMS: z
    .string()
    .default(defaultTerms)
    .transform((value) =>
      value
        .split(',')
        .map((pair) => pair.trim())
        .filter((pair) => pair.length > 0),
    )
    .refine((pairs) => pairs.every((pair) => /^[A-Za-z_][\w]*=[^=,]+$/.test(pair)), {
      message: 'expected comma-separated deprecated=canonical pairs, e.g. "whitelist=allowlist"',
    })
    .transform((pairs) => new Map(pairs.map((pair) => pair.split('=') as [string, string]))),
};

/** Validated configuration of the policy-validator service. */
export interface ValidatorConfig {
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly opaBin: string;
  readonly signing: {
    readonly keyFile: string;
    readonly keyId: string;
    readonly autogenerate: boolean;
  };
  /** Deprecated term → canonical term. */
  readonly deprecatedTerms: ReadonlyMap<string, string>;
  readonly kafkaBrokers: readonly string[];
  readonly decisionLogTopic: string;
  readonly maxSimulationCases: number;
  readonly replayWorkers: number;
}

/** Reads the validator's configuration; throws naming each bad key. */
export function loadValidatorConfig(source?: ConfigSource): ValidatorConfig {
  const config = loadConfig(shape, source);
  return {
    grpcAddress: config.CARACAL_VALIDATOR_GRPC_ADDRESS,
    metricsPort: config.CARACAL_VALIDATOR_METRICS_PORT,
    opaBin: config.CARACAL_OPA_BIN,
    signing: {
      keyFile: config.CARACAL_BUNDLE_SIGNING_KEY_FILE,
      keyId: config.CARACAL_BUNDLE_SIGNING_KEY_ID,
      autogenerate: config.CARACAL_BUNDLE_SIGNING_KEY_AUTOGENERATE,
    },
    deprecatedTerms: config.CARACAL_VALIDATOR_DEPRECATED_TERMS,
    kafkaBrokers: config.CARACAL_KAFKA_BROKERS,
    decisionLogTopic: config.CARACAL_DECISION_LOG_TOPIC,
    maxSimulationCases: config.CARACAL_SIMULATION_MAX_CASES,
    replayWorkers: config.CARACAL_REPLAY_WORKERS,
  };
}
