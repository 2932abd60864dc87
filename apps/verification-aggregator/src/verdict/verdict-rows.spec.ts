import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ActivationState, ActivationStatusSchema } from '@caracal-deploy/contracts';

import type { ProbeFacts } from '../probes/probe-assessment.js';
import {
  defaultGates,
  judgeStage,
  type RowResult,
  type StageEvidence,
  type StageSpec,
  type ZoneActivation,
} from './verdict-rows.js';

const revision = 'a'.repeat(64);
const oldRevision = 'b'.repeat(64);
const started = 1_000_000;

const spec: StageSpec = {
  zones: [{ zoneId: 'zone-1', activationId: 'act-1' }],
  policySetVersionId: 'psv-2',
  revision,
  regions: ['eu', 'us'],
  gates: { ...defaultGates, minProbeRoundsPerRegion: 2, bakeSeconds: 10, timeoutSeconds: 60 },
  startedAtMs: started,
};

function activation(
  state: ActivationState,
  replicas: { id: string; revision?: string; confirmedAgoMs?: number }[] = [
    { id: 'sts-a' },
    { id: 'sts-b' },
  ],
  nowMs = started + 20_000,
): ZoneActivation {
  return {
    zoneId: 'zone-1',
    activationId: 'act-1',
    kind: 'status',
    status: create(ActivationStatusSchema, {
      activation: {
        activationId: 'act-1',
        zoneId: 'zone-1',
        policySetVersionId: 'psv-2',
        manifestSha256: revision,
      },
      state,
      replicas: replicas.map((r) => ({
        replicaId: r.id,
        region: 'eu',
        revision: r.revision ?? revision,
        confirmedAtUnixMillis: BigInt(nowMs - (r.confirmedAgoMs ?? 1_000)),
        serving: (r.revision ?? revision) === revision,
      })),
      liveReplicas: replicas.length,
      servingReplicas: replicas.filter((r) => (r.revision ?? revision) === revision).length,
    }),
  };
}

let requests = 0;
function probe(region: string, round: number, overrides: Partial<ProbeFacts> = {}): ProbeFacts {
  requests += 1;
  const requestId = `req-${requests}`;
  return {
    requestId,
    agentId: `agent-${region}`,
    region,
    zoneId: 'zone-1',
    probeId: 'read-allowed',
    round: String(round),
    expectedDecision: 'allow',
    httpStatus: 200,
    observedDecision: 'allow',
    observedRevision: revision,
    transportError: '',
    sentAtMs: started + round * 1_000,
    audit: {
      eventId: `decision-${requestId}`,
      requestId,
      zoneId: 'zone-1',
      decision: 'allow',
      revision,
      policySetVersionId: 'psv-2',
      determiningPolicies: 1,
    },
    ...overrides,
  };
}

function goodProbes(rounds = 2): ProbeFacts[] {
  return ['eu', 'us'].flatMap((region) =>
    Array.from({ length: rounds }, (_, i) => probe(region, i + 1)),
  );
}

function evidence(overrides: Partial<StageEvidence> = {}): StageEvidence {
  return {
    activations: [activation(ActivationState.CONVERGED)],
    probes: goodProbes(),
    nowMs: started + 20_000,
    ...overrides,
  };
}

function row(rows: readonly RowResult[], check: string): RowResult {
  const found = rows.find((r) => r.check === check);
  assert.ok(found, `row ${check} present`);
  return found;
}

describe('stage verdict rows', () => {
  it('passes when every row passes and the bake time is over, listing the rows in order', () => {
    const judgement = judgeStage(spec, evidence());
    assert.equal(judgement.state, 'pass', JSON.stringify(judgement.rows, null, 1));
    assert.deepEqual(
      judgement.rows.map((r) => [r.check, r.state]),
      [
        ['activation_accepted', 'pass'],
        ['replicas_converged', 'pass'],
        ['policy_age', 'pass'],
        ['canary_audit', 'pass'],
        ['gateway_behaviour', 'pass'],
      ],
    );
    assert.equal(judgement.decidedAtMs, started + 20_000);
    assert.equal(row(judgement.rows, 'gateway_behaviour').details['eu'], '2/2 rounds');
  });

  it('stays pending while baking even with every row passing', () => {
    const judgement = judgeStage(spec, evidence({ nowMs: started + 5_000 }));
    assert.equal(judgement.state, 'pending');
    assert.ok(judgement.rows.every((r) => r.state === 'pass'));
    assert.equal(judgement.decidedAtMs, undefined);
  });

  it('fails at once on one decision mismatch in one region', () => {
    const probes = [
      ...goodProbes(),
      probe('us', 3, { observedDecision: 'deny', audit: undefined }),
    ];
    const judgement = judgeStage(spec, evidence({ probes, nowMs: started + 3_000 }));
    assert.equal(judgement.state, 'fail');
    const gateway = row(judgement.rows, 'gateway_behaviour');
    assert.equal(gateway.state, 'fail');
    assert.match(
      gateway.evidence,
      /us\/read-allowed round 3 .*gateway decision deny, expected allow/,
    );
    assert.equal(gateway.details['decision_mismatch'], '1');
  });

  it('fails the audit row when a probe has no audit event, and never passes', () => {
    const probes = goodProbes().map((p, i) => (i === 0 ? { ...p, audit: undefined } : p));
    const judgement = judgeStage(spec, evidence({ probes }));
    assert.equal(judgement.state, 'fail');
    assert.equal(row(judgement.rows, 'canary_audit').state, 'fail');
    assert.match(row(judgement.rows, 'canary_audit').evidence, /1 probes without audit event/);
    assert.equal(row(judgement.rows, 'gateway_behaviour').state, 'pass');
  });

  it('fails when a replica serves the old revision after convergence', () => {
    const judgement = judgeStage(
      spec,
      evidence({
        activations: [
          activation(ActivationState.CONVERGED, [
            { id: 'sts-a' },
            { id: 'sts-b', revision: oldRevision },
          ]),
        ],
      }),
    );
    assert.equal(judgement.state, 'fail');
    const converged = row(judgement.rows, 'replicas_converged');
    assert.equal(converged.state, 'fail');
    assert.match(converged.evidence, new RegExp(`sts-b \\(eu\\) serves ${oldRevision}`));
  });

  it('is pending while converging and fails when the activation stalls', () => {
    const converging = judgeStage(
      spec,
      evidence({ activations: [activation(ActivationState.CONVERGING)] }),
    );
    assert.equal(converging.state, 'pending');
    assert.equal(row(converging.rows, 'replicas_converged').state, 'pending');
    assert.equal(row(converging.rows, 'policy_age').state, 'pending');
    const stalled = judgeStage(
      spec,
      evidence({ activations: [activation(ActivationState.STALLED)] }),
    );
    assert.equal(stalled.state, 'fail');
  });

  it('fails activation_accepted for a superseded, unknown or foreign activation', () => {
    const superseded = judgeStage(
      spec,
      evidence({ activations: [activation(ActivationState.SUPERSEDED)] }),
    );
    assert.equal(row(superseded.rows, 'activation_accepted').state, 'fail');
    assert.match(row(superseded.rows, 'activation_accepted').evidence, /superseded/);
    const missing = judgeStage(
      spec,
      evidence({
        activations: [
          { zoneId: 'zone-1', activationId: 'act-1', kind: 'not_found', message: 'no activation' },
        ],
      }),
    );
    assert.equal(missing.state, 'fail');
    assert.match(row(missing.rows, 'activation_accepted').evidence, /act-1 not found/);
  });

  it('keeps the stage pending while the coordinator cannot be asked', () => {
    const judgement = judgeStage(
      spec,
      evidence({
        activations: [
          { zoneId: 'zone-1', activationId: 'act-1', kind: 'unavailable', message: 'unavailable' },
        ],
      }),
    );
    assert.equal(judgement.state, 'pending');
    assert.equal(row(judgement.rows, 'activation_accepted').state, 'pending');
  });

  it('fails policy_age when a replica confirmed longer ago than the gate', () => {
    const judgement = judgeStage(
      spec,
      evidence({
        activations: [
          activation(ActivationState.CONVERGED, [
            { id: 'sts-a' },
            { id: 'sts-b', confirmedAgoMs: 45_000 },
          ]),
        ],
      }),
    );
    assert.equal(row(judgement.rows, 'policy_age').state, 'fail');
    assert.match(row(judgement.rows, 'policy_age').evidence, /sts-b 45\.0 s over 30 s/);
  });

  it('keeps a region that never reports pending, then fails it at the timeout', () => {
    const euOnly = goodProbes().filter((p) => p.region === 'eu');
    const early = judgeStage(spec, evidence({ probes: euOnly }));
    assert.equal(early.state, 'pending');
    assert.match(
      row(early.rows, 'gateway_behaviour').evidence,
      /waiting for probe rounds: us 0\/2/,
    );
    const late = judgeStage(
      spec,
      evidence({
        probes: euOnly,
        activations: [activation(ActivationState.CONVERGED, undefined, started + 60_000)],
        nowMs: started + 60_000,
      }),
    );
    assert.equal(late.state, 'fail');
    const gateway = row(late.rows, 'gateway_behaviour');
    assert.equal(gateway.state, 'fail');
    assert.match(gateway.evidence, /^no complete evidence after 60 s: .*us 0\/2/);
    assert.equal(row(late.rows, 'activation_accepted').state, 'pass', 'passing rows stay passing');
  });

  it('tolerates transport errors up to the gate ratio, and fails above it', () => {
    const withErrors = (errors: number) => [
      ...goodProbes(10),
      ...Array.from({ length: errors }, (_, i) =>
        probe('eu', 20 + i, { transportError: 'timeout', observedDecision: '', audit: undefined }),
      ),
    ];
    assert.equal(judgeStage(spec, evidence({ probes: withErrors(1) })).state, 'pass');
    const failing = judgeStage(spec, evidence({ probes: withErrors(5) }));
    assert.equal(failing.state, 'fail');
    assert.match(row(failing.rows, 'gateway_behaviour').evidence, /5\/25 transport errors/);
  });
});
