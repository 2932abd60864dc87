import { Decision, HealthService, StsService } from '@caracal-deploy/contracts';
import { toDeployError, type ErrorCode } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

/** A decision the STS made (and audited). */
export interface StsDecision {
  readonly kind: 'decided';
  readonly decision: 'allow' | 'deny';
  readonly decisionId: string;
  /** Bundle revision that decided; empty when the zone has none loaded. */
  readonly revision: string;
  /** Why a deny was not the policy's own (`no_active_policy_set`, …); empty otherwise. */
  readonly reason: string;
  /** Address of the replica that decided. */
  readonly address: string;
}

/** What asking the STS gave: a decision, or why there is none (the Gateway then never forwards). */
export type DecideOutcome =
  | StsDecision
  /** No replica could decide (down, unreachable, timed out, audit buffer full): answer 503. */
  | { readonly kind: 'unavailable'; readonly message: string }
  /** Replicas answered that they do not serve the token's zone: answer 403. */
  | { readonly kind: 'zone_not_served'; readonly message: string };

/** The client surface the pool needs: Decide, a cheap reachability check, and close. */
export interface StsClient {
  readonly decide: GrpcClient<typeof StsService>['decide'];
  /** Resolves when the replica answers at all (its `HealthService.GetVersion`). */
  ping(timeoutMs: number): Promise<void>;
  close(): void;
}

/** A replica's `StsService` and `HealthService` clients over gRPC. */
export function connectSts(address: string, timeoutMs: number): StsClient {
  const sts = createGrpcClient(StsService, address, { defaultTimeoutMs: timeoutMs });
  const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: timeoutMs });
  return {
    decide: (request, options) => sts.decide(request, options),
    ping: async (pingTimeoutMs) => {
      await health.getVersion({}, { timeoutMs: pingTimeoutMs });
    },
    close: () => {
      sts.close();
      health.close();
    },
  };
}

/** Options of {@link StsPool}. */
export interface StsPoolOptions {
  /** `host:port` of each STS replica's gRPC server. */
  readonly addresses: readonly string[];
  /** Deadline of one Decide call, ms. */
  readonly timeoutMs: number;
  /** How long a replica that failed is tried only after the others, ms. */
  readonly cooldownMs: number;
  /** Called when a replica failed and the next one is tried (or none is left). */
  readonly onReplicaFailed?: (address: string, code: ErrorCode) => void;
  /** Injected for tests. */
  readonly connect?: (address: string) => StsClient;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

interface Replica {
  readonly address: string;
  client: StsClient;
  /** Until when the replica is asked only after the others (0: not cooling down). */
  downUntil: number;
  /** Whether its last call (Decide or ping) failed. */
  failing: boolean;
}

/**
 * The Gateway's STS replicas: each Decide goes to the next healthy replica
 * (round robin) and fails over to the others when one is down, slow or out of
 * audit buffer. A replica that failed is skipped for a cooldown and then gets a
 * fresh channel, so a restarted STS is picked up without waiting for gRPC's
 * reconnect backoff.
 */
export class StsPool {
  private readonly replicas: Replica[];
  private next = 0;
  private readonly connect: (address: string) => StsClient;
  private readonly now: () => number;

  constructor(private readonly options: StsPoolOptions) {
    if (options.addresses.length === 0) throw new Error('StsPool needs at least one address');
    this.connect = options.connect ?? ((address) => connectSts(address, options.timeoutMs));
    this.now = options.now ?? Date.now;
    this.replicas = options.addresses.map((address) => ({
      address,
      client: this.connect(address),
      downUntil: 0,
      failing: false,
    }));
  }

  /** Replicas whose last call succeeded (or that were not called yet). */
  get healthyCount(): number {
    return this.replicas.filter((replica) => !replica.failing).length;
  }

  /**
   * Pings every failing replica (so a recovered STS is noticed without traffic)
   * and resolves with how many replicas are healthy.
   */
  async probe(): Promise<number> {
    await Promise.all(
      this.replicas
        // A replica still cooling down keeps failing: its channel is replaced only after the cooldown.
        .filter((replica) => replica.failing && replica.downUntil <= this.now())
        .map(async (replica) => {
          this.refresh(replica);
          try {
            await replica.client.ping(this.options.timeoutMs);
            replica.failing = false;
            replica.downUntil = 0;
          } catch {
            replica.downUntil = this.now() + this.options.cooldownMs;
          }
        }),
    );
    return this.healthyCount;
  }

  /** Asks one replica after another until one decides; never throws. */
  async decide(zoneId: string, requestId: string, input: object): Promise<DecideOutcome> {
    const inputJson = JSON.stringify(input);
    let zoneNotServed: string | undefined;
    let lastProblem = 'no STS replica answered';
    for (const replica of this.order()) {
      this.refresh(replica);
      try {
        const response = await replica.client.decide(
          { zoneId, requestId, inputJson },
          { timeoutMs: this.options.timeoutMs },
        );
        replica.downUntil = 0;
        replica.failing = false;
        return {
          kind: 'decided',
          decision: response.decision === Decision.ALLOW ? 'allow' : 'deny',
          decisionId: response.decisionId,
          revision: response.revision,
          reason: response.reason,
          address: replica.address,
        };
      } catch (error) {
        const failure = toDeployError(error);
        this.options.onReplicaFailed?.(replica.address, failure.code);
        if (failure.code === 'failed_precondition') {
          zoneNotServed = `${replica.address}: ${failure.message}`;
          continue;
        }
        replica.downUntil = this.now() + this.options.cooldownMs;
        replica.failing = true;
        lastProblem = `${replica.address}: ${failure.code}: ${failure.message}`;
      }
    }
    return zoneNotServed !== undefined
      ? { kind: 'zone_not_served', message: zoneNotServed }
      : { kind: 'unavailable', message: lastProblem };
  }

  /** Back from cooldown: a new channel connects now instead of after gRPC's reconnect backoff. */
  private refresh(replica: Replica): void {
    if (replica.downUntil === 0 || replica.downUntil > this.now()) return;
    replica.client.close();
    replica.client = this.connect(replica.address);
    replica.downUntil = 0;
  }

  /** Closes every channel. */
  close(): void {
    for (const replica of this.replicas) replica.client.close();
  }

  /** Healthy replicas from the round-robin position, then those in cooldown (soonest back first). */
  private order(): Replica[] {
    const now = this.now();
    const start = this.next;
    this.next = (this.next + 1) % this.replicas.length;
    const rotated = [...this.replicas.slice(start), ...this.replicas.slice(0, start)];
    const healthy = rotated.filter((replica) => replica.downUntil <= now);
    const cooling = rotated
      .filter((replica) => replica.downUntil > now)
      .sort((a, b) => a.downUntil - b.downUntil);
    return [...healthy, ...cooling];
  }
}
