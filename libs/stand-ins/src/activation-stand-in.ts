import { ActivationService } from '@caracal-deploy/contracts';
import { UnimplementedError } from '@caracal-deploy/errors';
import { GrpcServer, type ServiceImpl } from '@caracal-deploy/grpc';

/** The `ActivationService` methods a test serves; the rest answer UNIMPLEMENTED. */
export type ActivationHandlers = Partial<ServiceImpl<typeof ActivationService>>;

const notServed = (): Promise<never> =>
  Promise.reject(new UnimplementedError('not served by the coordinator stand-in'));

// A stream that fails before its first message.
// eslint-disable-next-line require-yield, @typescript-eslint/require-await
async function* notServedStream(): AsyncGenerator<never> {
  throw new UnimplementedError('not served by the coordinator stand-in');
}

/**
 * Stands in for the activation coordinator at a service boundary: a real
 * {@link GrpcServer} on loopback serving `ActivationService` with the handlers
 * it is given. It can be closed and listen again on the same port, so a test
 * can play an outage.
 */
export class ActivationStandIn {
  private server: GrpcServer | undefined;
  private port = 0;

  constructor(private readonly handlers: ActivationHandlers) {}

  /** Binds (again on the same port after {@link close}); resolves with the `host:port` address. */
  async listen(): Promise<string> {
    const server = new GrpcServer({ address: this.address, shutdownGraceMs: 100 });
    server.add(ActivationService, {
      activate: notServed,
      getActivation: notServed,
      watchActivation: notServedStream,
      listActivations: notServed,
      getLastKnownGood: notServed,
      getActiveBinding: notServed,
      ...this.handlers,
    });
    this.port = await server.listen();
    this.server = server;
    return this.address;
  }

  /** `host:port` the stand-in serves on (known after the first {@link listen}). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Stops serving; calls fail with UNAVAILABLE until {@link listen}. */
  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

/** A zone's binding as {@link FakeCoordinator} serves it. */
export interface TestBinding {
  readonly revision: string;
  readonly bundleSha256: string;
  readonly activationId: string;
}

/**
 * The coordinator as the data plane sees it: `GetActiveBinding` answers from
 * {@link bindings}, a map the test changes. The STS calls nothing else.
 */
export class FakeCoordinator extends ActivationStandIn {
  readonly bindings: Map<string, TestBinding>;

  constructor() {
    const bindings = new Map<string, TestBinding>();
    super({
      getActiveBinding: (request) => {
        const binding = bindings.get(request.zoneId);
        return Promise.resolve(
          binding
            ? {
                binding: {
                  zoneId: request.zoneId,
                  policySetId: 'set-1',
                  policySetVersionId: `version-${binding.revision.slice(0, 8)}`,
                  manifestSha256: binding.revision,
                  bundleSha256: binding.bundleSha256,
                  activationId: binding.activationId,
                  activatedAtUnixMillis: BigInt(Date.now()),
                },
              }
            : {},
        );
      },
    });
    this.bindings = bindings;
  }
}
