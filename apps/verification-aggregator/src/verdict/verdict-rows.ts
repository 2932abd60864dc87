import { ActivationState, type ActivationStatus } from '@caracal-deploy/contracts';

import { normalizeRevision } from '../audit/audit-event.js';
import { assessProbe, type ProbeAssessment, type ProbeFacts } from '../probes/probe-assessment.js';

/** The checklist rows, in the order a verdict lists them. */
export const checks = [
  'activation_accepted',
  'replicas_converged',
  'policy_age',
  'canary_audit',
  'gateway_behaviour',
] as const;

/** One row of the checklist. */
export type CheckName = (typeof checks)[number];

/** A row's or a verdict's state. */
export type JudgedState = 'pending' | 'pass' | 'fail';

/** One judged row with its evidence. */
export interface RowResult {
  readonly check: CheckName;
  readonly state: JudgedState;
  /** What was seen, in words. */
  readonly evidence: string;
  /** Figures behind it. */
  readonly details: Readonly<Record<string, string>>;
}

/** The gates of a stage, defaults applied. */
export interface Gates {
  readonly minProbeRoundsPerRegion: number;
  readonly maxTransportErrorRatio: number;
  readonly maxPolicyAgeSeconds: number;
  readonly bakeSeconds: number;
  readonly timeoutSeconds: number;
}

/** Gate defaults, as verification.proto states them (0 there means "the default"). */
export const defaultGates: Gates = {
  minProbeRoundsPerRegion: 3,
  maxTransportErrorRatio: 0.05,
  maxPolicyAgeSeconds: 30,
  bakeSeconds: 0,
  timeoutSeconds: 120,
};

/** What a stage is judged against. */
export interface StageSpec {
  readonly zones: readonly { readonly zoneId: string; readonly activationId: string }[];
  /** Empty when the caller did not name one (audit versions are then not checked). */
  readonly policySetVersionId: string;
  /** Normalized bundle revision. */
  readonly revision: string;
  readonly regions: readonly string[];
  readonly gates: Gates;
  readonly startedAtMs: number;
}

/** What the coordinator said about one zone's activation. */
export type ZoneActivation =
  | {
      readonly zoneId: string;
      readonly activationId: string;
      readonly kind: 'status';
      readonly status: ActivationStatus;
    }
  | {
      readonly zoneId: string;
      readonly activationId: string;
      readonly kind: 'not_found';
      readonly message: string;
    }
  | {
      readonly zoneId: string;
      readonly activationId: string;
      readonly kind: 'unavailable';
      readonly message: string;
    };

/** Everything a stage is judged on at one moment. */
export interface StageEvidence {
  readonly activations: readonly ZoneActivation[];
  /** Probes of the stage's zones and regions sent since the stage started. */
  readonly probes: readonly ProbeFacts[];
  readonly nowMs: number;
}

/** A stage's verdict at one moment. */
export interface StageJudgement {
  readonly state: JudgedState;
  readonly rows: readonly RowResult[];
  /** Set when the state is pass or fail. */
  readonly decidedAtMs: number | undefined;
}

/** Fail beats pending beats pass. */
function combine(states: readonly JudgedState[]): JudgedState {
  if (states.includes('fail')) return 'fail';
  if (states.includes('pending')) return 'pending';
  return 'pass';
}

interface ZoneLine {
  readonly state: JudgedState;
  readonly text: string;
}

/** A row from one line per zone: failing lines first, then pending, then passing. */
function rowOf(
  check: CheckName,
  lines: readonly ZoneLine[],
  details: Record<string, string>,
): RowResult {
  const state = combine(lines.map((line) => line.state));
  const order: JudgedState[] = ['fail', 'pending', 'pass'];
  const evidence = [...lines]
    .sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state))
    .map((line) => line.text)
    .join('; ');
  return { check, state, evidence, details };
}

const stateNames: Record<number, string> = {
  [ActivationState.DISPATCHING]: 'dispatching',
  [ActivationState.CONVERGING]: 'converging',
  [ActivationState.CONVERGED]: 'converged',
  [ActivationState.STALLED]: 'stalled',
  [ActivationState.DEAD_LETTERED]: 'dead_lettered',
  [ActivationState.SUPERSEDED]: 'superseded',
};

function stateName(state: ActivationState): string {
  return stateNames[state] ?? 'unspecified';
}

/** activation_accepted: each zone's activation exists, is the stage's, and is not superseded or dead-lettered. */
export function activationRow(spec: StageSpec, activations: readonly ZoneActivation[]): RowResult {
  const details: Record<string, string> = {};
  const lines = activations.map((zone): ZoneLine => {
    const name = `zone ${zone.zoneId}: activation ${zone.activationId}`;
    if (zone.kind === 'unavailable') {
      details[zone.zoneId] = 'unknown';
      return { state: 'pending', text: `${name} not checked yet (${zone.message})` };
    }
    if (zone.kind === 'not_found') {
      details[zone.zoneId] = 'not_found';
      return { state: 'fail', text: `${name} not found` };
    }
    const { status } = zone;
    const activation = status.activation;
    details[zone.zoneId] = stateName(status.state);
    if (activation === undefined)
      return { state: 'fail', text: `${name} has no activation record` };
    if (activation.zoneId !== zone.zoneId) {
      return { state: 'fail', text: `${name} belongs to zone ${activation.zoneId}` };
    }
    if (normalizeRevision(activation.manifestSha256) !== spec.revision) {
      return {
        state: 'fail',
        text: `${name} activates revision ${activation.manifestSha256}, the stage verifies ${spec.revision}`,
      };
    }
    if (
      spec.policySetVersionId !== '' &&
      activation.policySetVersionId !== spec.policySetVersionId
    ) {
      return {
        state: 'fail',
        text: `${name} activates version ${activation.policySetVersionId}, the stage verifies ${spec.policySetVersionId}`,
      };
    }
    if (status.state === ActivationState.SUPERSEDED) {
      return { state: 'fail', text: `${name} was superseded by a later activation` };
    }
    if (status.state === ActivationState.DEAD_LETTERED) {
      const reason = status.outbox?.lastError ? `: ${status.outbox.lastError}` : '';
      return { state: 'fail', text: `${name}: its invalidation was dead-lettered${reason}` };
    }
    return { state: 'pass', text: `${name} accepted (${stateName(status.state)})` };
  });
  return rowOf('activation_accepted', lines, details);
}

/** replicas_converged: every zone's activation converged and every live replica serves the revision. */
export function convergenceRow(spec: StageSpec, activations: readonly ZoneActivation[]): RowResult {
  const details: Record<string, string> = {};
  const lines = activations.map((zone): ZoneLine => {
    if (zone.kind !== 'status') {
      details[zone.zoneId] = 'unknown';
      return { state: 'pending', text: `zone ${zone.zoneId}: no activation status yet` };
    }
    const { status } = zone;
    const replicas = status.replicas;
    const onRevision = replicas.filter((r) => normalizeRevision(r.revision) === spec.revision);
    details[zone.zoneId] = `${onRevision.length}/${replicas.length} live replicas on the revision`;
    const off = replicas.filter((r) => normalizeRevision(r.revision) !== spec.revision);
    const offText = off
      .slice(0, 5)
      .map((r) => `${r.replicaId} (${r.region || 'no region'}) serves ${r.revision || 'nothing'}`)
      .join(', ');
    switch (status.state) {
      case ActivationState.CONVERGED:
        if (replicas.length === 0) {
          return { state: 'pending', text: `zone ${zone.zoneId}: no live replica reports` };
        }
        if (off.length > 0) {
          return { state: 'fail', text: `zone ${zone.zoneId}: converged, but ${offText}` };
        }
        return {
          state: 'pass',
          text: `zone ${zone.zoneId}: all ${replicas.length} live replicas serve the revision`,
        };
      case ActivationState.STALLED:
        return {
          state: 'fail',
          text: `zone ${zone.zoneId}: stalled; laggards ${status.laggards.join(', ') || offText || 'unnamed'}`,
        };
      case ActivationState.SUPERSEDED:
      case ActivationState.DEAD_LETTERED:
        return {
          state: 'fail',
          text: `zone ${zone.zoneId}: activation ${stateName(status.state)}`,
        };
      default:
        return {
          state: 'pending',
          text: `zone ${zone.zoneId}: ${stateName(status.state)}, ${status.servingReplicas}/${status.liveReplicas} replicas serving`,
        };
    }
  });
  return rowOf('replicas_converged', lines, details);
}

/** policy_age: once a zone converged, every live replica confirmed its revision within the gate. */
export function policyAgeRow(
  spec: StageSpec,
  activations: readonly ZoneActivation[],
  nowMs: number,
): RowResult {
  const gate = spec.gates.maxPolicyAgeSeconds;
  const details: Record<string, string> = { max_policy_age_seconds: String(gate) };
  const lines = activations.map((zone): ZoneLine => {
    if (zone.kind !== 'status' || zone.status.state !== ActivationState.CONVERGED) {
      return { state: 'pending', text: `zone ${zone.zoneId}: waiting for convergence` };
    }
    const replicas = zone.status.replicas;
    if (replicas.length === 0)
      return { state: 'pending', text: `zone ${zone.zoneId}: no live replica` };
    const never = replicas.filter((r) => r.confirmedAtUnixMillis === 0n);
    if (never.length > 0) {
      return {
        state: 'pending',
        text: `zone ${zone.zoneId}: ${never.map((r) => r.replicaId).join(', ')} never confirmed`,
      };
    }
    const ages = replicas.map((r) => ({
      replica: r.replicaId,
      seconds: Math.max(0, (nowMs - Number(r.confirmedAtUnixMillis)) / 1000),
    }));
    const stale = ages.filter((a) => a.seconds > gate);
    if (stale.length > 0) {
      details[zone.zoneId] = `${stale.length}/${replicas.length} replicas over the gate`;
      return {
        state: 'fail',
        text: `zone ${zone.zoneId}: ${stale.map((a) => `${a.replica} ${a.seconds.toFixed(1)} s`).join(', ')} over ${gate} s`,
      };
    }
    // Ages move every second; the evidence says only what the gate decides, so
    // a healthy stage's verdict does not change (and stream) on every judgement.
    details[zone.zoneId] = `${replicas.length}/${replicas.length} replicas within the gate`;
    return {
      state: 'pass',
      text: `zone ${zone.zoneId}: all ${replicas.length} live replicas confirmed the revision within ${gate} s`,
    };
  });
  return rowOf('policy_age', lines, details);
}

interface Assessed {
  readonly facts: ProbeFacts;
  readonly assessment: ProbeAssessment;
}

/** Rounds (agent and round) of a region where some probe went `ok` on the side `side` picks. */
function roundsPerRegion(
  assessed: readonly Assessed[],
  ok: (assessment: ProbeAssessment) => boolean,
): Map<string, Set<string>> {
  const rounds = new Map<string, Set<string>>();
  for (const { facts, assessment } of assessed) {
    if (!ok(assessment)) continue;
    let set = rounds.get(facts.region);
    if (!set) rounds.set(facts.region, (set = new Set()));
    set.add(`${facts.agentId}#${facts.round}`);
  }
  return rounds;
}

function examples(items: readonly Assessed[]): string {
  const shown = items
    .slice(0, 3)
    .map(
      ({ facts, assessment }) =>
        `${facts.region}/${facts.probeId} round ${facts.round} (request ${facts.requestId}): ${assessment.detail}`,
    )
    .join('; ');
  return items.length > 3 ? `${shown}; and ${items.length - 3} more` : shown;
}

function roundsText(
  spec: StageSpec,
  rounds: Map<string, Set<string>>,
): {
  complete: boolean;
  text: string;
  details: Record<string, string>;
} {
  const min = spec.gates.minProbeRoundsPerRegion;
  const details: Record<string, string> = {};
  const short: string[] = [];
  for (const region of spec.regions) {
    const count = rounds.get(region)?.size ?? 0;
    details[region] = `${count}/${min} rounds`;
    if (count < min) short.push(`${region} ${count}/${min}`);
  }
  return {
    complete: short.length === 0,
    text:
      short.length === 0
        ? `every region has ${min} or more complete rounds`
        : `waiting for probe rounds: ${short.join(', ')}`,
    details,
  };
}

function assessAll(spec: StageSpec, probes: readonly ProbeFacts[]): Assessed[] {
  const target = {
    revision: spec.revision,
    policySetVersionId: spec.policySetVersionId === '' ? undefined : spec.policySetVersionId,
  };
  return probes.map((facts) => ({ facts, assessment: assessProbe(facts, target) }));
}

/**
 * canary_audit: every probe the Gateway answered as expected has its audit
 * event with the expected decision, the revision and a determining policy
 * (zero tolerance), and every region has the minimum of such rounds.
 */
export function canaryAuditRow(spec: StageSpec, probes: readonly ProbeFacts[]): RowResult {
  const assessed = assessAll(spec, probes);
  const missing = assessed.filter((a) => a.assessment.audit === 'missing');
  const mismatched = assessed.filter((a) => a.assessment.audit === 'mismatch');
  const joined = assessed.filter((a) => a.assessment.audit === 'ok').length;
  const rounds = roundsText(
    spec,
    roundsPerRegion(assessed, (a) => a.audit === 'ok'),
  );
  const details = {
    ...rounds.details,
    audit_joined: String(joined),
    audit_missing: String(missing.length),
    audit_mismatch: String(mismatched.length),
  };
  if (missing.length + mismatched.length > 0) {
    return {
      check: 'canary_audit',
      state: 'fail',
      evidence: `${missing.length} probes without audit event, ${mismatched.length} with a disagreeing one: ${examples([...mismatched, ...missing])}`,
      details,
    };
  }
  return {
    check: 'canary_audit',
    state: rounds.complete ? 'pass' : 'pending',
    evidence: `${joined} probes joined to their audit events; ${rounds.text}`,
    details,
  };
}

/**
 * gateway_behaviour: in every expected region the Gateway applied the expected
 * decision from the revision (zero tolerance), over the minimum of rounds, with
 * transport errors under the gate ratio once the rounds are complete.
 */
export function gatewayRow(spec: StageSpec, probes: readonly ProbeFacts[]): RowResult {
  const assessed = assessAll(spec, probes);
  const wrong = assessed.filter(
    (a) =>
      a.assessment.gateway === 'decision_mismatch' || a.assessment.gateway === 'revision_mismatch',
  );
  const errors = assessed.filter((a) => a.assessment.gateway === 'error');
  const ratio = assessed.length === 0 ? 0 : errors.length / assessed.length;
  const rounds = roundsText(
    spec,
    roundsPerRegion(assessed, (a) => a.gateway === 'ok'),
  );
  const details = {
    ...rounds.details,
    probes: String(assessed.length),
    decision_mismatch: String(
      wrong.filter((a) => a.assessment.gateway === 'decision_mismatch').length,
    ),
    revision_mismatch: String(
      wrong.filter((a) => a.assessment.gateway === 'revision_mismatch').length,
    ),
    transport_errors: String(errors.length),
    transport_error_ratio: ratio.toFixed(3),
  };
  if (wrong.length > 0) {
    return {
      check: 'gateway_behaviour',
      state: 'fail',
      evidence: `${wrong.length} probes not as expected: ${examples(wrong)}`,
      details,
    };
  }
  const errorText = `${errors.length}/${assessed.length} transport errors (gate ${spec.gates.maxTransportErrorRatio})`;
  if (rounds.complete && ratio > spec.gates.maxTransportErrorRatio) {
    return {
      check: 'gateway_behaviour',
      state: 'fail',
      evidence: `${errorText} exceed the gate: ${examples(errors)}`,
      details,
    };
  }
  return {
    check: 'gateway_behaviour',
    state: rounds.complete ? 'pass' : 'pending',
    evidence: `${assessed.length - errors.length} probes applied the expected decision; ${errorText}; ${rounds.text}`,
    details,
  };
}

/**
 * The stage's verdict now: fail as soon as a row fails; pass when every row
 * passes and the bake time is over; after the timeout without a pass, fail,
 * with each row still pending failed for lack of evidence; pending otherwise.
 */
export function judgeStage(spec: StageSpec, evidence: StageEvidence): StageJudgement {
  const rows = [
    activationRow(spec, evidence.activations),
    convergenceRow(spec, evidence.activations),
    policyAgeRow(spec, evidence.activations, evidence.nowMs),
    canaryAuditRow(spec, evidence.probes),
    gatewayRow(spec, evidence.probes),
  ];
  const state = combine(rows.map((row) => row.state));
  if (state === 'fail') return { state, rows, decidedAtMs: evidence.nowMs };
  const elapsedMs = evidence.nowMs - spec.startedAtMs;
  if (state === 'pass' && elapsedMs >= spec.gates.bakeSeconds * 1000) {
    return { state, rows, decidedAtMs: evidence.nowMs };
  }
  if (elapsedMs >= spec.gates.timeoutSeconds * 1000) {
    const timedOut = rows.map((row) =>
      row.state === 'pending'
        ? {
            ...row,
            state: 'fail' as const,
            evidence: `no complete evidence after ${spec.gates.timeoutSeconds} s: ${row.evidence}`,
          }
        : row,
    );
    return { state: 'fail', rows: timedOut, decidedAtMs: evidence.nowMs };
  }
  return { state: 'pending', rows, decidedAtMs: undefined };
}
