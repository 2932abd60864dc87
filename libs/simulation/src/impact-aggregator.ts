import type { ChangeKind } from './decision.js';

/** Counts of a replay, by how the candidate's decision compares to the recorded one. */
export interface ImpactTotals {
  readonly evaluated: number;
  readonly unchanged: number;
  readonly allow_to_deny: number;
  readonly deny_to_allow: number;
  readonly newly_erroring: number;
}

/** Changed decisions that share a resource, requested scopes, principal type and change. */
export interface ImpactGroup {
  readonly resource: string;
  readonly scopes: string;
  readonly principalType: string;
  readonly change: Exclude<ChangeKind, 'unchanged'>;
  readonly count: number;
  /** A few decision ids to look up (bounded by `examplesPerGroup`). */
  readonly exampleDecisionIds: readonly string[];
}

/** What a replay found. */
export interface ImpactReport {
  readonly totals: ImpactTotals;
  /** The largest changed groups, biggest first. */
  readonly topGroups: readonly ImpactGroup[];
  /** Changed decisions not attributed to a group because the group table was full. */
  readonly ungroupedChanges: number;
}

/** Bounds of an {@link ImpactAggregator}; memory stays O(maxGroups × examplesPerGroup). */
export interface ImpactAggregatorOptions {
  readonly maxGroups?: number;
  readonly examplesPerGroup?: number;
  readonly topGroups?: number;
}

interface MutableGroup {
  resource: string;
  scopes: string;
  principalType: string;
  change: Exclude<ChangeKind, 'unchanged'>;
  count: number;
  exampleDecisionIds: string[];
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function text(value: unknown): string {
  return typeof value === 'string' && value.length > 0 ? value : '(none)';
}

/** The grouping of one input: resource identifier, requested scopes (sorted), principal type. */
export function groupKeyOf(input: unknown): {
  resource: string;
  scopes: string;
  principalType: string;
} {
  const requested = field(input, 'context', 'requested_scopes');
  const scopes = Array.isArray(requested)
    ? requested
        .filter((scope): scope is string => typeof scope === 'string')
        .sort()
        .join(' ')
    : '';
  return {
    resource: text(field(input, 'resource', 'identifier')),
    scopes: scopes || '(none)',
    principalType: text(field(input, 'principal', 'type')),
  };
}

/**
 * Folds replayed decisions into totals and the top changed groups with bounded
 * memory. Aggregators of different workers combine with {@link merge}.
 */
export class ImpactAggregator {
  private readonly counts = {
    evaluated: 0,
    unchanged: 0,
    allow_to_deny: 0,
    deny_to_allow: 0,
    newly_erroring: 0,
  };
  private readonly groups = new Map<string, MutableGroup>();
  private ungrouped = 0;
  private readonly maxGroups: number;
  private readonly examplesPerGroup: number;
  private readonly topGroups: number;

  constructor(options: ImpactAggregatorOptions = {}) {
    this.maxGroups = options.maxGroups ?? 10_000;
    this.examplesPerGroup = options.examplesPerGroup ?? 3;
    this.topGroups = options.topGroups ?? 10;
  }

  /** Records one decision's change. */
  add(decisionId: string, input: unknown, change: ChangeKind): void {
    this.counts.evaluated += 1;
    this.counts[change] += 1;
    if (change === 'unchanged') return;
    const { resource, scopes, principalType } = groupKeyOf(input);
    this.addToGroup({
      resource,
      scopes,
      principalType,
      change,
      count: 1,
      exampleDecisionIds: [decisionId],
    });
  }

  /** Adds everything another aggregator saw (e.g. a worker's share). */
  merge(other: ImpactReport): void {
    for (const key of Object.keys(this.counts) as (keyof ImpactTotals)[])
      this.counts[key] += other.totals[key];
    this.ungrouped += other.ungroupedChanges;
    for (const group of other.topGroups)
      this.addToGroup({ ...group, exampleDecisionIds: [...group.exampleDecisionIds] });
  }

  /** The report so far; with `allGroups`, every group (for merging) instead of the top ones. */
  report(options: { allGroups?: boolean } = {}): ImpactReport {
    const sorted = [...this.groups.values()].sort(
      (a, b) =>
        b.count - a.count ||
        a.resource.localeCompare(b.resource) ||
        a.scopes.localeCompare(b.scopes),
    );
    return {
      totals: { ...this.counts },
      topGroups: (options.allGroups ? sorted : sorted.slice(0, this.topGroups)).map((group) => ({
        ...group,
        exampleDecisionIds: [...group.exampleDecisionIds],
      })),
      ungroupedChanges: this.ungrouped,
    };
  }

  private addToGroup(incoming: MutableGroup): void {
    const key = JSON.stringify([
      incoming.resource,
      incoming.scopes,
      incoming.principalType,
      incoming.change,
    ]);
    const existing = this.groups.get(key);
    if (existing) {
      existing.count += incoming.count;
      for (const id of incoming.exampleDecisionIds) {
        if (existing.exampleDecisionIds.length >= this.examplesPerGroup) break;
        existing.exampleDecisionIds.push(id);
      }
      return;
    }
    if (this.groups.size >= this.maxGroups) {
      this.ungrouped += incoming.count;
      return;
    }
    this.groups.set(key, {
      ...incoming,
      exampleDecisionIds: incoming.exampleDecisionIds.slice(0, this.examplesPerGroup),
    });
  }
}
