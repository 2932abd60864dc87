import type { BundleTarget, ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import {
  StreamReader,
  invalidationStream,
  parseInvalidation,
  writeReplicaStatus,
  type InvalidationMessage,
} from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';

/** What a zone must serve, as the activation coordinator's binding says. */
export interface BindingTarget extends BundleTarget {
  readonly zoneId: string;
  readonly activationId: string;
}

/** Reads a zone's active binding (gRPC `ActivationService.GetActiveBinding` in production). */
export interface ActiveBindingReader {
  read(zoneId: string, signal?: AbortSignal): Promise<BindingTarget | null>;
}

/** Why a zone was synchronised. */
export type SyncTrigger = 'start' | 'invalidate' | 'periodic';

/** Hooks for metrics and logs. */
export interface PolicySyncEvents {
  onInvalidation?(message: InvalidationMessage): void;
  onMalformedInvalidation?(entryId: string, problems: string): void;
  onBindingReadFailed?(zoneId: string, error: unknown): void;
  onSynced?(
    zoneId: string,
    trigger: SyncTrigger,
    outcome: 'confirmed' | 'unconfirmed' | 'applied' | 'rejected' | 'no_binding',
  ): void;
  onStatusWriteFailed?(zoneId: string, error: unknown): void;
  /** Connection errors of the invalidation follower while it waits for Redis to come back. */
  onRedisError?(error: Error): void;
}

/** Options of {@link PolicySync}. */
export interface PolicySyncOptions {
  readonly replicaId: string;
  readonly region: string;
  /** One runtime per zone this replica serves. */
  readonly runtimes: ReadonlyMap<string, ZonePolicyRuntime>;
  readonly bindings: ActiveBindingReader;
  /** Redis for the invalidation stream (own blocking connection) and status writes. */
  readonly redisUrl: string;
  readonly redis: Redis;
  /** Periodic check interval: repairs a missed message (default 10 s). */
  readonly checkIntervalMs?: number;
  /** Replica status heartbeat TTL; a replica silent for longer is not live (default 3 × check interval). */
  readonly statusTtlSeconds?: number;
  readonly events?: PolicySyncEvents;
}

/**
 * Keeps an STS replica's zones on their active bindings: follows
 * `caracal.policy.invalidate` with its own XREAD (no consumer group, so every
 * replica sees every message), re-reads the binding on each message and on a
 * periodic check (which repairs a missed message), applies or confirms it on
 * the zone's runtime, and reports the replica's status with a heartbeat TTL. A
 * confirmation counts only once reported: while Redis is down the replica
 * keeps serving but its policy age grows.
 * Syncs of one zone never overlap; requests arriving meanwhile coalesce into one
 * more pass.
 */
export class PolicySync {
  private reader: StreamReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Map<string, SyncTrigger>();
  private readonly abort = new AbortController();
  private readonly checkIntervalMs: number;
  private readonly ttlSeconds: number;

  constructor(private readonly options: PolicySyncOptions) {
    this.checkIntervalMs = options.checkIntervalMs ?? 10_000;
    this.ttlSeconds =
      options.statusTtlSeconds ?? Math.max(3, Math.ceil((3 * this.checkIntervalMs) / 1000));
  }

  /**
   * Pins the stream position first (so no message between the initial sync and
   * the first read is lost), syncs every zone once, then follows the stream and
   * the periodic check until {@link stop}.
   */
  async start(): Promise<void> {
    this.reader = await StreamReader.open({
      url: this.options.redisUrl,
      stream: invalidationStream,
      from: '$',
      connectionName: `caracal-sts-${this.options.replicaId}`,
      onError: (error) => this.options.events?.onRedisError?.(error),
    });
    await Promise.all([...this.options.runtimes.keys()].map((zone) => this.sync(zone, 'start')));
    this.following = this.follow(this.reader);
    this.timer = setInterval(() => {
      for (const zone of this.options.runtimes.keys()) void this.sync(zone, 'periodic');
    }, this.checkIntervalMs);
  }

  /** Stops following and checking, and waits for syncs in progress. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    await this.reader?.stop();
    await this.following;
    await Promise.all(this.running.values());
  }

  /** Synchronises one zone now (coalescing with a sync already in progress). */
  sync(zoneId: string, trigger: SyncTrigger): Promise<void> {
    const inFlight = this.running.get(zoneId);
    if (inFlight) {
      this.again.set(zoneId, trigger);
      return inFlight;
    }
    const run = (async () => {
      let next: SyncTrigger | undefined = trigger;
      while (next && !this.abort.signal.aborted) {
        this.again.delete(zoneId);
        await this.syncOnce(zoneId, next);
        next = this.again.get(zoneId);
      }
    })().finally(() => this.running.delete(zoneId));
    this.running.set(zoneId, run);
    return run;
  }

  private async follow(reader: StreamReader): Promise<void> {
    for await (const entry of reader) {
      const parsed = parseInvalidation(entry.fields);
      if (!parsed.ok) {
        this.options.events?.onMalformedInvalidation?.(
          entry.id,
          parsed.violations.map((v) => `${v.field}: ${v.problem}`).join('; '),
        );
        continue;
      }
      this.options.events?.onInvalidation?.(parsed.message);
      // Messages for zones this replica does not serve are for other fleets.
      if (this.options.runtimes.has(parsed.message.zoneId))
        void this.sync(parsed.message.zoneId, 'invalidate');
    }
  }

  private async syncOnce(zoneId: string, trigger: SyncTrigger): Promise<void> {
    const runtime = this.options.runtimes.get(zoneId);
    if (!runtime) return;
    let held: BindingTarget | undefined;
    try {
      const binding = await this.options.bindings.read(zoneId, this.abort.signal);
      if (!binding) {
        this.options.events?.onSynced?.(zoneId, trigger, 'no_binding');
      } else if (runtime.serves(binding)) {
        held = binding;
      } else {
        const outcome = await runtime.apply(binding, this.abort.signal);
        this.options.events?.onSynced?.(
          zoneId,
          trigger,
          outcome.kind === 'rejected' ? 'rejected' : 'applied',
        );
      }
    } catch (error) {
      // The coordinator is unreachable: keep serving, do not confirm, so policy age grows and alerts.
      this.options.events?.onBindingReadFailed?.(zoneId, error);
    }
    // A confirmation counts once it is reported where the coordinator reads it.
    // While Redis is down the replica neither hears invalidations nor shows up
    // as live to the coordinator: it keeps serving, but its policy age grows.
    const confirmedAt = held ? new Date() : undefined;
    const reported = await this.report(zoneId, runtime, confirmedAt);
    if (held) {
      const confirmed = reported && runtime.confirm(held, confirmedAt);
      this.options.events?.onSynced?.(zoneId, trigger, confirmed ? 'confirmed' : 'unconfirmed');
    }
  }

  private async report(
    zoneId: string,
    runtime: ZonePolicyRuntime,
    confirmedAt: Date | undefined,
  ): Promise<boolean> {
    const active = runtime.active;
    const now = new Date();
    try {
      await writeReplicaStatus(
        this.options.redis,
        {
          zoneId,
          replicaId: this.options.replicaId,
          region: this.options.region,
          revision: active?.revision ?? null,
          loadedAt: active?.loadedAt ?? null,
          confirmedAt: confirmedAt ?? runtime.confirmedAt ?? null,
          reportedAt: now,
        },
        this.ttlSeconds,
      );
      return true;
    } catch (error) {
      this.options.events?.onStatusWriteFailed?.(zoneId, error);
      return false;
    }
  }
}
