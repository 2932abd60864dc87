/** One replica's report, as read from its status hash. */
export interface ReplicaReport {
  readonly replicaId: string;
  readonly region: string;
  readonly revision: string | null;
  readonly confirmedAt: Date | null;
  readonly reportedAt: Date;
}

/** Where one replica stands against the target revision. */
export interface ReplicaProgress {
  readonly replicaId: string;
  readonly region: string;
  readonly revision: string | null;
  /** When the replica last confirmed it serves the zone's active revision; null when never. */
  readonly confirmedAt: Date | null;
  readonly serving: boolean;
  /** Milliseconds from the activation commit to the replica's confirmation; null while lagging. */
  readonly lagMs: number | null;
}

/** The state of an activation's rollout across the fleet. */
export type ConvergenceState = 'converging' | 'converged' | 'stalled' | 'no_replicas';

/** The fleet's progress towards one revision. */
export interface Convergence {
  readonly state: ConvergenceState;
  readonly live: number;
  readonly serving: number;
  /** Per region: live and serving counts. */
  readonly regions: Readonly<Record<string, { readonly live: number; readonly serving: number }>>;
  readonly replicas: readonly ReplicaProgress[];
  /** Replicas still on another revision (named when stalled). */
  readonly laggards: readonly string[];
  /** Commit → last live replica confirmed, once converged. */
  readonly propagationMs: number | null;
}

/** Inputs of {@link convergence}. */
export interface ConvergenceInput {
  readonly target: string;
  /** When the activation committed. */
  readonly committedAt: Date;
  readonly now: Date;
  /** Replicas whose last report is older than this are not live (heartbeat TTL). */
  readonly liveWithinMs: number;
  /** After this long without converging, the activation is stalled. */
  readonly stallAfterMs: number;
}

/**
 * Judges an activation from every replica's report: converged when every live
 * replica serves the target revision and confirmed it after the commit; stalled,
 * naming the laggards, when that has not happened within `stallAfterMs`. A
 * replica that stopped reporting is not live and does not block convergence;
 * with no live replica at all the state is `no_replicas` (then `stalled`), never
 * `converged`.
 */
export function convergence(
  reports: readonly ReplicaReport[],
  input: ConvergenceInput,
): Convergence {
  const committed = input.committedAt.getTime();
  const live = reports.filter(
    (r) => input.now.getTime() - r.reportedAt.getTime() <= input.liveWithinMs,
  );
  const replicas = live
    .map((report): ReplicaProgress => {
      const confirmed = report.confirmedAt?.getTime();
      const serving =
        report.revision === input.target && confirmed !== undefined && confirmed >= committed;
      return {
        replicaId: report.replicaId,
        region: report.region,
        revision: report.revision,
        confirmedAt: report.confirmedAt,
        serving,
        lagMs: serving && confirmed !== undefined ? confirmed - committed : null,
      };
    })
    .sort((a, b) => a.region.localeCompare(b.region) || a.replicaId.localeCompare(b.replicaId));
  const regions: Record<string, { live: number; serving: number }> = {};
  for (const replica of replicas) {
    const region = (regions[replica.region] ??= { live: 0, serving: 0 });
    region.live += 1;
    if (replica.serving) region.serving += 1;
  }
  const serving = replicas.filter((r) => r.serving).length;
  const laggards = replicas.filter((r) => !r.serving).map((r) => r.replicaId);
  const converged = replicas.length > 0 && laggards.length === 0;
  const elapsed = input.now.getTime() - committed;
  let state: ConvergenceState;
  if (converged) state = 'converged';
  else if (elapsed > input.stallAfterMs) state = 'stalled';
  else if (replicas.length === 0) state = 'no_replicas';
  else state = 'converging';
  return {
    state,
    live: replicas.length,
    serving,
    regions,
    replicas,
    laggards,
    propagationMs: converged ? Math.max(...replicas.map((r) => r.lagMs ?? 0)) : null,
  };
}

/**
 * Delay before retry `attempt` (1-based) of an outbox publish: exponential from
 * `baseMs`, capped at `maxMs`, with full jitter so a fleet of dispatchers does
 * not retry in lockstep. `random` is injectable for tests.
 */
export function retryDelayMs(
  attempt: number,
  baseMs = 100,
  maxMs = 10_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * random());
}
