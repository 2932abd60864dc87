import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationService,
  ActivationState,
  type GetActivationRequest,
  type GetActiveBindingRequest,
  type GetActivationResponseSchema,
  type GetActiveBindingResponseSchema,
  type ListActivationsResponseSchema,
  type GetLastKnownGoodResponseSchema,
  type ActivateResponseSchema,
  type WatchActivationResponseSchema,
} from '@caracal-deploy/contracts';
import { NotFoundError, UnimplementedError } from '@caracal-deploy/errors';
import { GrpcServer, type ServiceImpl } from '@caracal-deploy/grpc';

/** One live STS replica of a canned activation. */
export interface CannedReplica {
  readonly replicaId: string;
  readonly region: string;
  readonly revision: string;
  /** How long before each GetActivation the replica last confirmed; undefined: never. */
  readonly confirmedAgoMs: number | undefined;
}

/** What GetActivation answers for one activation. */
export interface CannedActivation {
  readonly activationId: string;
  readonly zoneId: string;
  readonly policySetVersionId: string;
  readonly revision: string;
  state: ActivationState;
  replicas: CannedReplica[];
}

/**
 * Stands in for the activation coordinator at the service boundary: a real
 * {@link GrpcServer} serving `ActivationService` whose GetActivation answers
 * the statuses a test sets (state and per-replica revision and confirmation).
 * The aggregator only reads activations and active bindings (the latest
 * canned activation of a zone); the other methods are unimplemented.
 */
export class CannedCoordinator implements ServiceImpl<typeof ActivationService> {
  private readonly activations = new Map<string, CannedActivation>();
  private server: GrpcServer | undefined;
  private port = 0;

  /** Binds (again, on the same port after {@link stop}); resolves with the `host:port` address. */
  async start(): Promise<string> {
    const server = new GrpcServer({ address: `127.0.0.1:${this.port}`, shutdownGraceMs: 100 });
    server.add(ActivationService, this);
    this.port = await server.listen();
    this.server = server;
    return this.address;
  }

  /** `host:port` of the stand-in (known after the first {@link start}). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Stops serving. */
  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  /** Sets (or replaces) what GetActivation answers for `activation.activationId`. */
  set(activation: CannedActivation): CannedActivation {
    this.activations.set(activation.activationId, activation);
    return activation;
  }

  getActivation(
    request: GetActivationRequest,
  ): Promise<MessageInitShape<typeof GetActivationResponseSchema>> {
    const canned = this.activations.get(request.activationId);
    if (!canned) throw new NotFoundError(`no activation ${request.activationId}`);
    const now = Date.now();
    const serving = canned.replicas.filter((r) => r.revision === canned.revision);
    return Promise.resolve({
      status: {
        activation: {
          activationId: canned.activationId,
          zoneId: canned.zoneId,
          policySetId: 'set-1',
          policySetVersionId: canned.policySetVersionId,
          manifestSha256: canned.revision,
          createdAtUnixMillis: BigInt(now),
        },
        state: canned.state,
        replicas: canned.replicas.map((r) => ({
          replicaId: r.replicaId,
          region: r.region,
          revision: r.revision,
          confirmedAtUnixMillis: BigInt(
            r.confirmedAgoMs === undefined ? 0 : now - r.confirmedAgoMs,
          ),
          serving: r.revision === canned.revision,
        })),
        liveReplicas: canned.replicas.length,
        servingReplicas: serving.length,
        laggards: canned.replicas
          .filter((r) => r.revision !== canned.revision)
          .map((r) => r.replicaId),
      },
    });
  }

  /** The binding of the zone's last canned activation (none for an unknown zone). */
  getActiveBinding(
    request: GetActiveBindingRequest,
  ): Promise<MessageInitShape<typeof GetActiveBindingResponseSchema>> {
    const latest = [...this.activations.values()]
      .filter((activation) => activation.zoneId === request.zoneId)
      .at(-1);
    return Promise.resolve(
      latest === undefined
        ? {}
        : {
            binding: {
              zoneId: latest.zoneId,
              policySetId: 'set-1',
              policySetVersionId: latest.policySetVersionId,
              manifestSha256: latest.revision,
              activationId: latest.activationId,
            },
          },
    );
  }

  activate(): Promise<MessageInitShape<typeof ActivateResponseSchema>> {
    throw new UnimplementedError('the verification tests never activate');
  }

  // eslint-disable-next-line require-yield
  async *watchActivation(): AsyncIterable<MessageInitShape<typeof WatchActivationResponseSchema>> {
    await Promise.resolve();
    throw new UnimplementedError('the aggregator reads activations with GetActivation');
  }

  listActivations(): Promise<MessageInitShape<typeof ListActivationsResponseSchema>> {
    throw new UnimplementedError('the verification tests never list activations');
  }

  getLastKnownGood(): Promise<MessageInitShape<typeof GetLastKnownGoodResponseSchema>> {
    throw new UnimplementedError('the verification tests never ask for a last known good');
  }
}

/** A converged activation whose two replicas serve `revision` and confirmed it a second ago. */
export function convergedActivation(fields: {
  activationId: string;
  zoneId: string;
  policySetVersionId: string;
  revision: string;
  regions?: readonly string[];
}): CannedActivation {
  const regions = fields.regions ?? ['eu'];
  return {
    activationId: fields.activationId,
    zoneId: fields.zoneId,
    policySetVersionId: fields.policySetVersionId,
    revision: fields.revision,
    state: ActivationState.CONVERGED,
    replicas: regions.flatMap((region) =>
      ['a', 'b'].map((suffix) => ({
        replicaId: `sts-${region}-${suffix}`,
        region,
        revision: fields.revision,
        confirmedAgoMs: 1_000,
      })),
    ),
  };
}
