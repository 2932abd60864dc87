import { setTimeout as delay } from 'node:timers/promises';

import type { Probe } from '../probes/probe.js';
import type { ProbeObservation } from './probe-report.js';

/** How rounds are paced and how wide they fan out. */
export interface RoundSchedulerOptions {
  /** Time between the starts of two rounds, ms. */
  readonly intervalMs: number;
  /** Share of the interval (0..1) each pause is stretched or shortened by, at random. */
  readonly jitter: number;
  /** Most probes in flight at once. */
  readonly concurrency: number;
  /** The probes of the next round (the set may change between rounds). */
  readonly probes: () => readonly Probe[];
  /** Sends one probe; never throws. */
  readonly send: (probe: Probe, round: number) => Promise<ProbeObservation>;
  /** Receives each observation as soon as it is made. */
  readonly observed: (observation: ProbeObservation) => void;
  /** Told when a round starts and ends. */
  readonly roundStarted?: (round: number, probes: number) => void;
  readonly roundFinished?: (round: number) => void;
  /** Told when a round failed as a whole (a bug, not a probe failure); the next round runs anyway. */
  readonly roundFailed?: (round: number, error: unknown) => void;
  /** Random source in [0, 1), for tests. */
  readonly random?: () => number;
}

/**
 * The pause before the next round: the interval from the start of the last one,
 * jittered by ±`jitter`·interval so agents of several regions do not fire in
 * step, less the time the round took (never negative).
 */
export function nextPauseMs(
  intervalMs: number,
  jitter: number,
  elapsedMs: number,
  random: number,
): number {
  const jittered = intervalMs * (1 + jitter * (2 * random - 1));
  return Math.max(0, Math.round(jittered - elapsedMs));
}

/** Runs `work` over `items` with at most `limit` in flight, in order of start. */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Runs probe rounds one after another, never overlapping: every probe of the
 * set, with bounded concurrency, round numbers counting up from 1, then a
 * jittered pause. Stopping waits for the round in progress.
 */
export class RoundScheduler {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private round = 0;

  constructor(private readonly options: RoundSchedulerOptions) {}

  /** Starts the first round now. */
  start(): void {
    this.loop ??= this.run();
  }

  /** The number of the last round started (0 before the first). */
  get currentRound(): number {
    return this.round;
  }

  /** Runs one round now (also used by tests); resolves when every probe of it is observed. */
  async runRound(): Promise<number> {
    const round = ++this.round;
    const probes = this.options.probes();
    this.options.roundStarted?.(round, probes.length);
    await forEachBounded(probes, this.options.concurrency, async (probe) => {
      this.options.observed(await this.options.send(probe, round));
    });
    this.options.roundFinished?.(round);
    return round;
  }

  /** Stops after the round in progress. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const random = this.options.random ?? Math.random;
    while (!this.stopping.signal.aborted) {
      const started = Date.now();
      try {
        await this.runRound();
      } catch (error) {
        this.options.roundFailed?.(this.round, error);
      }
      const pause = nextPauseMs(
        this.options.intervalMs,
        this.options.jitter,
        Date.now() - started,
        random(),
      );
      try {
        await delay(pause, undefined, { signal: this.stopping.signal });
      } catch {
        return;
      }
    }
  }
}
