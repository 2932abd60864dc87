export { classifyChange, effectiveDecision } from './decision.js';
export type { ChangeKind, Decision, EffectiveDecision } from './decision.js';
export { parseDecisionLogRecord } from './decision-log-record.js';
export { readDecisionLogRecord } from './decision-log-bytes.js';
export type { DecisionLogRecordBytes, ReadDecisionLogRecord } from './decision-log-bytes.js';
export type { DecisionLogRecord, ParsedDecisionLogRecord } from './decision-log-record.js';
export { ImpactAggregator, groupKeyOf } from './impact-aggregator.js';
export type {
  ImpactAggregatorOptions,
  ImpactGroup,
  ImpactReport,
  ImpactTotals,
} from './impact-aggregator.js';
export { evaluateGate, parseGate } from './impact-gate.js';
export type { GateResult, ImpactGate } from './impact-gate.js';
