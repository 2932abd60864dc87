import type { ExpectedCasesSource } from '../config/canary.config.js';
import { deriveProbes, type UnmappedCase } from './expected-case-probes.js';
import { fetchExpectedCases } from './expected-cases.client.js';
import type { Route } from '@caracal-deploy/gateway-routes';
import type { Probe } from './probe.js';

/** Where a {@link ProbeSet} logs. */
export interface ProbeSetLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Options of {@link ProbeSet}. */
export interface ProbeSetOptions {
  readonly staticProbes: readonly Probe[];
  readonly routes: readonly Route[];
  /** Undefined: only static probes. */
  readonly expectedCases: ExpectedCasesSource | undefined;
  readonly timeoutMs: number;
  readonly logger: ProbeSetLogger;
  /** Told the counts whenever the set changes. */
  readonly changed?: (counts: { static: number; derived: number; unmapped: number }) => void;
}

/**
 * The probes of the next round: the static probes plus those derived from the
 * policy set's expected cases, re-read periodically. A failed read keeps the
 * last derived probes, so an Admin API outage never empties the canary.
 */
export class ProbeSet {
  private derived: readonly Probe[] = [];
  private unmapped: readonly UnmappedCase[] = [];
  private revision: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly options: ProbeSetOptions) {}

  /** Every probe, static first; a derived probe whose id a static one already has is left out. */
  current(): readonly Probe[] {
    const ids = new Set(this.options.staticProbes.map((probe) => probe.id));
    return [...this.options.staticProbes, ...this.derived.filter((probe) => !ids.has(probe.id))];
  }

  /** Cases of the last read that could not become probes, with the reasons. */
  get unmappedCases(): readonly UnmappedCase[] {
    return this.unmapped;
  }

  /** Reads the expected cases now and then every refresh interval. */
  async start(): Promise<void> {
    this.report();
    const source = this.options.expectedCases;
    if (!source) return;
    await this.refresh();
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    }, source.refreshMs);
    this.timer.unref();
  }

  /** Stops refreshing. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  /** Reads the expected cases once; keeps the last good probes when that fails. */
  async refresh(): Promise<void> {
    const source = this.options.expectedCases;
    if (!source) return;
    const { logger } = this.options;
    try {
      const list = await fetchExpectedCases(source, this.options.timeoutMs);
      if (list.revision === this.revision) return;
      const derived = deriveProbes(list.cases, this.options.routes, source.zone);
      this.derived = derived.probes;
      this.unmapped = derived.unmapped;
      this.revision = list.revision;
      logger.log(
        `expected cases of ${source.zone}/${source.policySet} (revision ${list.revision}): ${derived.probes.length} probes, ${derived.unmapped.length} cases not mapped onto a Gateway route`,
      );
      for (const { name, reason } of derived.unmapped) {
        logger.warn(`expected case ${JSON.stringify(name)} is not probed: ${reason}`);
      }
      this.report();
    } catch (error) {
      logger.warn(
        `could not read the expected cases of ${source.zone}/${source.policySet}: ${(error as Error).message}; keeping ${this.derived.length} derived probes`,
      );
    }
  }

  private report(): void {
    this.options.changed?.({
      static: this.options.staticProbes.length,
      derived: this.derived.length,
      unmapped: this.unmapped.length,
    });
  }
}
