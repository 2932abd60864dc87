import { env, loadConfig, workspaceRoot, type ConfigSource } from '@caracal-deploy/config';

const shape = {
  /** Where the validator's gRPC services listen (`host:port`; port 0 picks one). */
  CARACAL_VALIDATOR_GRPC_ADDRESS: env.string('127.0.0.1:50061'),
  /** Port of the `/metrics` endpoint on loopback. */
  CARACAL_VALIDATOR_METRICS_PORT: env.port(9461),
  /** The `opa` CLI used to compile and build policies; tools/infra installs it here. */
  CARACAL_OPA_BIN: env.string(`${workspaceRoot(import.meta.url)}/.local/bin/opa`),
};

/** Validated configuration of the policy-validator service. */
export interface ValidatorConfig {
  readonly grpcAddress: string;
  readonly metricsPort: number;
  readonly opaBin: string;
}

/** Reads the validator's configuration; throws naming each bad key. */
export function loadValidatorConfig(source?: ConfigSource): ValidatorConfig {
  const config = loadConfig(shape, source);
  return {
    grpcAddress: config.CARACAL_VALIDATOR_GRPC_ADDRESS,
    metricsPort: config.CARACAL_VALIDATOR_METRICS_PORT,
    opaBin: config.CARACAL_OPA_BIN,
  };
}
