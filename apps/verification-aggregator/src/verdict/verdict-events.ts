import { Injectable } from '@nestjs/common';

/** Key of a stage in {@link VerdictEvents}. */
export function stageKey(deploymentId: string, stage: string): string {
  return JSON.stringify([deploymentId, stage]);
}

/** In-process notice that a stage's stored verdict changed, for watches on this replica. */
@Injectable()
export class VerdictEvents {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes every watch of the stage. */
  changed(key: string): void {
    const waiting = this.waiters.get(key);
    this.waiters.delete(key);
    for (const wake of waiting ?? []) wake();
  }

  /**
   * Resolves on the stage's next change, after `timeoutMs` (another replica
   * may have changed it: the caller re-reads), or when `signal` aborts.
   */
  next(key: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiting = set;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiting.delete(done);
        if (waiting.size === 0 && this.waiters.get(key) === waiting) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      waiting.add(done);
    });
  }
}
