import type { FieldViolation } from '@caracal-deploy/errors';

/**
 * One record of Kafka `caracal.decision.logs`: the full input the STS evaluated,
 * the result it got, and the bundle revision that produced it.
 */
export interface DecisionLogRecord {
  readonly decisionId: string;
  readonly zoneId: string;
  /** Bundle revision (the policy-set version's manifest sha256). */
  readonly revision: string;
  /** When the decision was made, ms since the Unix epoch. */
  readonly timestampMs: number;
  readonly input: Readonly<Record<string, unknown>>;
  readonly result: unknown;
}

/** The outcome of {@link parseDecisionLogRecord}: a record, or every problem found. */
export type ParsedDecisionLogRecord =
  | { readonly ok: true; readonly record: DecisionLogRecord }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the JSON value of a decision-log message (snake_case on the wire:
 * `decision_id`, `zone_id`, `revision`, `timestamp` as RFC 3339 or epoch ms,
 * `input`, `result`), naming each bad field.
 */
export function parseDecisionLogRecord(value: unknown): ParsedDecisionLogRecord {
  if (!isRecord(value)) {
    return {
      ok: false,
      violations: [{ field: '(root)', problem: `expected a JSON object, got ${describe(value)}` }],
    };
  }
  const violations: FieldViolation[] = [];
  const text = (field: string): string => {
    const item = value[field];
    if (typeof item === 'string' && item.length > 0) return item;
    violations.push({ field, problem: `expected a non-empty string, got ${describe(item)}` });
    return '';
  };
  const decisionId = text('decision_id');
  const zoneId = text('zone_id');
  const revision = text('revision');
  const timestampMs = parseTimestamp(value['timestamp']);
  if (timestampMs === undefined) {
    violations.push({
      field: 'timestamp',
      problem: `expected an RFC 3339 time or epoch milliseconds, got ${describe(value['timestamp'])}`,
    });
  }
  const input = value['input'];
  if (!isRecord(input))
    violations.push({ field: 'input', problem: `expected an object, got ${describe(input)}` });
  if (!('result' in value)) violations.push({ field: 'result', problem: 'required' });
  if (violations.length > 0 || timestampMs === undefined || !isRecord(input))
    return { ok: false, violations };
  return {
    ok: true,
    record: { decisionId, zoneId, revision, timestampMs, input, result: value['result'] },
  };
}

function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
