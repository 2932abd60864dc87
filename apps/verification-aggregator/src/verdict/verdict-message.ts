import type { MessageInitShape } from '@bufbuild/protobuf';
import { VerdictState, type VerdictSchema } from '@caracal-deploy/contracts';

import type { StageRecord } from '../database/verification.repository.js';
import type { JudgedState, StageSpec } from './verdict-rows.js';

const states: Record<JudgedState, VerdictState> = {
  pending: VerdictState.PENDING,
  pass: VerdictState.PASS,
  fail: VerdictState.FAIL,
};

/** The wire state of a judged state. */
export function verdictStateOf(state: JudgedState): VerdictState {
  return states[state];
}

/** A stored stage as the `Verdict` message. */
export function verdictMessage(stage: StageRecord): MessageInitShape<typeof VerdictSchema> {
  return {
    deploymentId: stage.deploymentId,
    stage: stage.stage,
    state: states[stage.state],
    rows: stage.rows.map((row) => ({
      check: row.check,
      state: states[row.state],
      evidence: row.evidence,
      details: { ...row.details },
    })),
    startedAtUnixMillis: BigInt(stage.startedAt.getTime()),
    decidedAtUnixMillis: BigInt(stage.decidedAt?.getTime() ?? 0),
  };
}

/** What a stored stage is judged against. */
export function specOf(stage: StageRecord): StageSpec {
  return {
    zones: stage.zones,
    policySetVersionId: stage.policySetVersionId,
    revision: stage.revision,
    regions: stage.regions,
    gates: stage.gates,
    startedAtMs: stage.startedAt.getTime(),
  };
}
