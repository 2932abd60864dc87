import { ResourceExhaustedError, UnavailableError } from '@caracal-deploy/errors';

import type { AuditFacts } from '../audit/audit-event.js';

/** Bounds of a {@link ProbeJoin}. */
export interface ProbeJoinOptions {
  /** How long a report waits for its audit event. */
  readonly deadlineMs: number;
  /** How long an audit event that no report claimed is kept for a report still on its way. */
  readonly auditRetentionMs: number;
  /** Most unclaimed audit events kept; the oldest go first. */
  readonly maxAuditEvents: number;
  /** Most reports waiting at once; past it, {@link ProbeJoin.join} refuses. */
  readonly maxWaitingReports: number;
  /** The clock (ms); `Date.now` by default. */
  readonly now?: () => number;
}

interface Waiter {
  readonly resolve: (audit: AuditFacts | undefined) => void;
  readonly reject: (error: Error) => void;
}

interface Waiting {
  readonly waiters: Waiter[];
  readonly timer: NodeJS.Timeout;
}

/**
 * Joins probe reports to audit events by request id, whichever arrives first.
 * An event is kept until a report claims it or it ages out; a report waits
 * until its event arrives or the deadline passes (then it resolves without
 * one). Memory is bounded on both sides: unclaimed events are capped by count
 * and age (most events on the topic belong to real traffic, not probes), and
 * waiting reports by count.
 */
export class ProbeJoin {
  private readonly events = new Map<string, { audit: AuditFacts; at: number }>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly now: () => number;

  constructor(private readonly options: ProbeJoinOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Unclaimed audit events held. */
  get bufferedEvents(): number {
    return this.events.size;
  }

  /** Reports waiting for their audit event. */
  get waitingReports(): number {
    return this.waiting.size;
  }

  /** Offers an audit event: hands it to the report waiting for it, or keeps it for one to come. */
  offer(audit: AuditFacts): void {
    const waiting = this.waiting.get(audit.requestId);
    if (waiting) {
      this.waiting.delete(audit.requestId);
      clearTimeout(waiting.timer);
      for (const waiter of waiting.waiters) waiter.resolve(audit);
      return;
    }
    const now = this.now();
    // Re-inserting moves a duplicate to the back, so Map order stays arrival order.
    this.events.delete(audit.requestId);
    this.events.set(audit.requestId, { audit, at: now });
    this.evict(now);
  }

  /**
   * Resolves with the audit event of `requestId`, or undefined once the
   * deadline passed without one. Reports with the same request id share the
   * wait. Throws {@link ResourceExhaustedError} when too many reports wait.
   */
  join(requestId: string): Promise<AuditFacts | undefined> {
    const now = this.now();
    this.evict(now);
    const kept = this.events.get(requestId);
    if (kept) {
      this.events.delete(requestId);
      return Promise.resolve(kept.audit);
    }
    const existing = this.waiting.get(requestId);
    if (existing) {
      return new Promise((resolve, reject) => existing.waiters.push({ resolve, reject }));
    }
    if (this.waiting.size >= this.options.maxWaitingReports) {
      throw new ResourceExhaustedError(
        `${this.waiting.size} probe reports are waiting for audit events; refusing more`,
        { details: { max_waiting_reports: String(this.options.maxWaitingReports) } },
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const entry = this.waiting.get(requestId);
        this.waiting.delete(requestId);
        for (const waiter of entry?.waiters ?? []) waiter.resolve(undefined);
      }, this.options.deadlineMs);
      this.waiting.set(requestId, { waiters: [{ resolve, reject }], timer });
    });
  }

  /**
   * At shutdown: fails every waiting report with UNAVAILABLE (not "audit
   * missing": the deadline did not pass, this process just stops looking) and
   * drops kept events.
   */
  close(): void {
    const error = new UnavailableError('the verification aggregator is shutting down');
    for (const [requestId, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      this.waiting.delete(requestId);
      for (const waiter of waiting.waiters) waiter.reject(error);
    }
    this.events.clear();
  }

  private evict(now: number): void {
    for (const [requestId, entry] of this.events) {
      const expired = now - entry.at > this.options.auditRetentionMs;
      if (!expired && this.events.size <= this.options.maxAuditEvents) break;
      this.events.delete(requestId);
    }
  }
}
