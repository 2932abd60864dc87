import type { ProbeObservation } from '../rounds/probe-report.js';

/**
 * Reports waiting for the aggregator, oldest first, at most `limit` of them:
 * past the limit the oldest report is dropped and handed to `onDrop` (counted),
 * so a long aggregator outage costs the oldest evidence, never memory.
 */
export class ReportBuffer {
  private items: ProbeObservation[] = [];
  private dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly onDrop: (report: ProbeObservation) => void = () => undefined,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`buffer limit must be a positive integer, got ${limit}`);
    }
  }

  /** Appends reports (newest last), dropping the oldest past the limit. */
  push(...reports: readonly ProbeObservation[]): void {
    this.items.push(...reports);
    this.trim();
  }

  /** Puts reports that were taken but not delivered back in front, in their order. */
  requeue(reports: readonly ProbeObservation[]): void {
    this.items = [...reports, ...this.items];
    this.trim();
  }

  /** Removes and returns the oldest `count` reports. */
  take(count: number): ProbeObservation[] {
    return this.items.splice(0, Math.max(0, count));
  }

  /** Reports waiting. */
  get size(): number {
    return this.items.length;
  }

  /** Reports dropped since the start. */
  get droppedTotal(): number {
    return this.dropped;
  }

  private trim(): void {
    const excess = this.items.length - this.limit;
    if (excess <= 0) return;
    for (const report of this.items.splice(0, excess)) {
      this.dropped += 1;
      this.onDrop(report);
    }
  }
}
