import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import type { ImpactTotals } from './impact-aggregator.js';

/**
 * When a replay blocks a deployment. Every bound is optional; an empty gate
 * passes any replay that evaluated at least `minSamples` decisions.
 */
export interface ImpactGate {
  /** Fail when any recorded deny would become an allow (the dangerous direction). */
  readonly failOnDenyToAllow?: boolean;
  /** Fail when more than this many allows become denies. */
  readonly maxAllowToDeny?: number;
  /** Fail when more than this fraction (0–1) of evaluated decisions go allow → deny. */
  readonly maxAllowToDenyRatio?: number;
  /** Fail when more than this many decisions newly error. */
  readonly maxNewlyErroring?: number;
  /** Fewer evaluated decisions than this is `no_data`, never a pass (default 1). */
  readonly minSamples?: number;
}

/** The gate's verdict: `no_data` when there was too little to judge. */
export interface GateResult {
  readonly verdict: 'pass' | 'fail' | 'no_data';
  /** One line per violated bound (or why there was no data). */
  readonly reasons: readonly string[];
}

/** Judges replay totals against a gate. */
export function evaluateGate(gate: ImpactGate, totals: ImpactTotals): GateResult {
  const minSamples = gate.minSamples ?? 1;
  if (totals.evaluated < minSamples) {
    return {
      verdict: 'no_data',
      reasons: [
        totals.evaluated === 0
          ? 'no recorded decisions in the window'
          : `only ${totals.evaluated} recorded decisions, the gate needs at least ${minSamples}`,
      ],
    };
  }
  const reasons: string[] = [];
  if (gate.failOnDenyToAllow && totals.deny_to_allow > 0) {
    reasons.push(`${totals.deny_to_allow} recorded denies would become allows`);
  }
  if (gate.maxAllowToDeny !== undefined && totals.allow_to_deny > gate.maxAllowToDeny) {
    reasons.push(
      `${totals.allow_to_deny} allows would become denies (limit ${gate.maxAllowToDeny})`,
    );
  }
  if (gate.maxAllowToDenyRatio !== undefined) {
    const ratio = totals.allow_to_deny / totals.evaluated;
    if (ratio > gate.maxAllowToDenyRatio) {
      reasons.push(
        `${percent(ratio)} of decisions would go allow → deny (limit ${percent(gate.maxAllowToDenyRatio)})`,
      );
    }
  }
  if (gate.maxNewlyErroring !== undefined && totals.newly_erroring > gate.maxNewlyErroring) {
    reasons.push(
      `${totals.newly_erroring} decisions would newly error (limit ${gate.maxNewlyErroring})`,
    );
  }
  return { verdict: reasons.length > 0 ? 'fail' : 'pass', reasons };
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

/**
 * Parses a gate written as comma-separated clauses, for CLIs and configs:
 * `deny_to_allow=0` (fail on any), `allow_to_deny<=N`, `allow_to_deny<=x%`,
 * `newly_erroring<=N`, `min_samples>=N`. Throws naming the clause that is wrong.
 */
export function parseGate(spec: string): ImpactGate {
  const gate: { -readonly [K in keyof ImpactGate]: ImpactGate[K] } = {};
  const violations: FieldViolation[] = [];
  const clauses = spec
    .split(',')
    .map((clause) => clause.trim())
    .filter((clause) => clause.length > 0);
  clauses.forEach((clause, index) => {
    const field = `gate[${index}]`;
    const match = /^([a-z_]+)\s*(<=|>=|=)\s*(\d+(?:\.\d+)?)(%?)$/.exec(clause);
    if (!match) {
      violations.push({
        field,
        problem: `cannot read ${JSON.stringify(clause)}; expected e.g. allow_to_deny<=10 or allow_to_deny<=0.5%`,
      });
      return;
    }
    const [, name, operator, number, isPercent] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const value = Number(number);
    if (name === 'deny_to_allow' && operator === '=' && value === 0 && !isPercent)
      gate.failOnDenyToAllow = true;
    else if (name === 'allow_to_deny' && operator === '<=' && isPercent)
      gate.maxAllowToDenyRatio = value / 100;
    else if (name === 'allow_to_deny' && operator === '<=' && Number.isInteger(value))
      gate.maxAllowToDeny = value;
    else if (
      name === 'newly_erroring' &&
      operator === '<=' &&
      Number.isInteger(value) &&
      !isPercent
    )
      gate.maxNewlyErroring = value;
    else if (name === 'min_samples' && operator === '>=' && Number.isInteger(value) && !isPercent)
      gate.minSamples = value;
    else
      violations.push({
        field,
        problem: `unsupported clause ${JSON.stringify(clause)}; supported: deny_to_allow=0, allow_to_deny<=N, allow_to_deny<=x%, newly_erroring<=N, min_samples>=N`,
      });
  });
  if (violations.length > 0) throw new InvalidArgumentError('invalid impact gate', { violations });
  return gate;
}
