import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  newDeployment,
  transitions,
  zonesToRollBack,
  type DeploymentDocument,
  type PreflightRecord,
  type Transition,
  type VerdictRecord,
} from './deployment-model.js';

const gates = {
  minProbeRoundsPerRegion: 1,
  maxTransportErrorRatio: 0,
  maxPolicyAgeSeconds: 30,
  bakeSeconds: 10,
  timeoutSeconds: 60,
};

const passing: PreflightRecord = {
  check: 'version_validated',
  zoneId: 'zone-a',
  passed: true,
  evidence: 'valid',
  details: {},
};

const zone = (zoneId: string) => ({
  zoneId,
  policySetVersionId: `version-${zoneId}`,
  manifestSha256: `revision-${zoneId}`,
  previousVersionId: `old-${zoneId}`,
});

/** A two-stage deployment: canary (zone-a), then prod (zone-b, zone-c). */
function twoStages(preflight: PreflightRecord[] = [passing]): Transition {
  return newDeployment(
    {
      id: 'deployment-1',
      policySetVersionId: 'version-zone-a',
      actor: 'alice',
      reason: 'ship it',
      idempotencyKey: 'key-1',
      acceptNoRollbackZones: [],
      zoneVersions: [],
      stages: [
        { name: 'canary', regions: ['eu'], bakeSeconds: 10, gates, zones: [zone('zone-a')] },
        {
          name: 'prod',
          regions: ['eu', 'us'],
          bakeSeconds: 10,
          gates,
          zones: [zone('zone-b'), zone('zone-c')],
        },
      ],
      preflight,
    },
    1_000,
  );
}

const verdict = (state: VerdictRecord['state'], rowState = state): VerdictRecord => ({
  state,
  rows: [
    { check: 'replicas_converged', state: 'pass', evidence: '2/2 serve', details: {} },
    { check: 'canary_audit', state: rowState, evidence: `eu ${rowState}`, details: {} },
  ],
  startedAt: 1,
  decidedAt: state === 'pending' ? 0 : 2,
});

/** Applies a transition that must change something. */
function must(result: Transition | null): DeploymentDocument {
  assert.ok(result, 'expected the transition to change the deployment');
  return result.document;
}

/** Runs stage `index` of `document` from start to verifying at time `now`. */
function throughConvergence(document: DeploymentDocument, now: number): DeploymentDocument {
  let d = must(transitions.startStage(document, now));
  const stage = d.stages[d.currentStage]!;
  for (const z of stage.zones)
    d = must(transitions.zoneActivated(d, z.zoneId, `act-${z.zoneId}`, now));
  for (const z of stage.zones)
    d = must(transitions.zoneProgress(d, z.zoneId, { live: 2, serving: 2, converged: true }, now));
  return d;
}

describe('deployment state machine', () => {
  it('fails a deployment whose pre-flight failed without starting a stage', () => {
    const created = twoStages([
      passing,
      {
        check: 'replicas_ready',
        zoneId: 'zone-b',
        passed: false,
        evidence: 'no live STS replica',
        details: {},
      },
    ]);
    assert.equal(created.document.state, 'failed');
    assert.match(created.document.failureReason, /replicas_ready \(zone-b\): no live STS replica/);
    assert.deepEqual(
      created.document.stages.map((s) => s.state),
      ['skipped', 'skipped'],
    );
    assert.deepEqual(
      created.events.map((e) => e.kind),
      ['preflight_check', 'preflight_check', 'deployment_ended'],
    );
    assert.equal(transitions.startStage(created.document, 2_000), null);
  });

  it('runs stages in order, passes only after the bake, and records each zone version as passed', () => {
    let d = twoStages().document;
    assert.equal(d.state, 'running');
    d = throughConvergence(d, 2_000);
    assert.equal(d.stages[0]!.state, 'verifying');
    assert.equal(d.stages[1]!.state, 'pending');
    d = must(transitions.verdictObserved(d, verdict('pass'), 3_000));
    // The verifier passed, but the bake (10 s from convergence at 2 s) is not over.
    assert.equal(transitions.stagePassed(d, 11_999), null);
    const passed = transitions.stagePassed(d, 12_000);
    d = must(passed);
    assert.equal(d.stages[0]!.state, 'passed');
    assert.deepEqual(
      passed?.stageVerdicts.map((v) => [v.zoneId, v.policySetVersionId, v.passed]),
      [['zone-a', 'version-zone-a', true]],
    );
    d = throughConvergence(d, 13_000);
    assert.equal(d.currentStage, 1);
    d = must(transitions.verdictObserved(d, verdict('pass'), 14_000));
    const last = transitions.stagePassed(d, 23_000);
    d = must(last);
    assert.equal(d.state, 'succeeded');
    assert.equal(last?.events.at(-1)?.kind, 'deployment_ended');
  });

  it('reports convergence progress N/M and waits for every zone of the stage', () => {
    let d = must(transitions.startStage(twoStages().document, 2_000));
    d = must(transitions.zoneActivated(d, 'zone-a', 'act-a', 2_000));
    assert.equal(d.stages[0]!.state, 'converging');
    const partial = transitions.zoneProgress(
      d,
      'zone-a',
      { live: 2, serving: 1, converged: false },
      2_100,
    );
    assert.match(partial?.events[0]?.message ?? '', /1\/2 live replicas/);
    d = must(partial);
    assert.equal(
      transitions.zoneProgress(d, 'zone-a', { live: 2, serving: 1, converged: false }, 2_200),
      null,
    );
    assert.equal(d.stages[0]!.state, 'converging');
  });

  it('on a failed verdict records the failure, never starts the next stage, and rolls back what it touched', () => {
    let d = throughConvergence(twoStages().document, 2_000);
    d = must(transitions.verdictObserved(d, verdict('fail'), 3_000));
    const failed = transitions.stageFailed(d, 'canary_audit fail (eu fail)', 3_000);
    d = must(failed);
    assert.equal(d.state, 'rolling_back');
    assert.equal(d.rollbackCause, 'rollback_verdict');
    assert.deepEqual(
      failed?.stageVerdicts.map((v) => [v.zoneId, v.passed]),
      [['zone-a', false]],
    );
    assert.equal(transitions.startStage(d, 4_000), null);
    assert.deepEqual(
      zonesToRollBack(d).map((z) => z.zoneId),
      ['zone-a'],
    );
    const done = transitions.zoneRollbackDone(
      d,
      'zone-a',
      { state: 'rolled_back', rollbackId: 'rb-1', rolledBackTo: 'old-zone-a', detail: 'back' },
      5_000,
    );
    d = must(done);
    assert.equal(d.state, 'rolled_back');
    assert.match(d.failureReason, /canary_audit fail/);
    assert.deepEqual(
      d.stages.map((s) => s.state),
      ['failed', 'skipped'],
    );
    assert.equal(
      d.stages[1]!.zones.every((z) => z.activationId === ''),
      true,
    );
  });

  it('when a touched zone changes under it, rolls back the others and marks that one skipped', () => {
    let d = throughConvergence(twoStages().document, 2_000);
    d = must(transitions.verdictObserved(d, verdict('pass'), 3_000));
    d = must(transitions.stagePassed(d, 12_000));
    d = must(transitions.startStage(d, 13_000));
    d = must(transitions.zoneActivated(d, 'zone-b', 'act-b', 13_000));
    const changed = transitions.zoneChanged(d, 'zone-a', 'old-zone-a', 14_000);
    d = must(changed);
    assert.equal(d.state, 'rolling_back');
    assert.equal(changed?.events[0]?.kind, 'zone_changed_under_deployment');
    assert.deepEqual(
      zonesToRollBack(d).map((z) => z.zoneId),
      ['zone-b'],
    );
    // Stage 1 passed before the change; it keeps its pass.
    assert.equal(d.stages[0]!.state, 'passed');
    assert.equal(d.stages[1]!.state, 'failed');
    d = must(
      transitions.zoneRollbackDone(
        d,
        'zone-b',
        { state: 'rollback_skipped', detail: 'not active' },
        15_000,
      ),
    );
    assert.equal(d.state, 'rolled_back');
  });

  it('ends failed, naming the zone, when a rollback fails', () => {
    let d = throughConvergence(twoStages().document, 2_000);
    d = must(transitions.stageFailed(d, 'stalled', 3_000));
    d = must(transitions.zoneRollbackRetry(d, 'zone-a', 'unavailable', 3_100));
    assert.equal(d.stages[0]!.zones[0]!.rollbackAttempts, 1);
    d = must(
      transitions.zoneRollbackDone(
        d,
        'zone-a',
        { state: 'rollback_failed', detail: 'no known good' },
        4_000,
      ),
    );
    assert.equal(d.state, 'failed');
    assert.match(d.failureReason, /rollback failed in "zone-a" \(no known good\)/);
  });

  it('pauses before the next stage, resumes, and refuses pause when not running', () => {
    let d = throughConvergence(twoStages().document, 2_000);
    d = must(transitions.pause(d, 'bob', 'look at dashboards', 2_500));
    assert.equal(d.state, 'paused');
    // The stage in progress still verifies and passes.
    d = must(transitions.verdictObserved(d, verdict('pass'), 3_000));
    d = must(transitions.stagePassed(d, 12_000));
    assert.equal(transitions.startStage(d, 13_000), null);
    assert.equal(transitions.pause(d, 'bob', 'again', 13_000), null);
    d = must(transitions.resume(d, 'bob', 'looks fine', 14_000));
    assert.equal(d.state, 'running');
    d = must(transitions.startStage(d, 14_100));
    assert.equal(d.stages[1]!.state, 'activating');
  });

  it('aborts leaving activated zones as they are, or rolls them back when asked', () => {
    const verifying = throughConvergence(twoStages().document, 2_000);
    let kept = must(
      transitions.requestAbort(
        verifying,
        { actor: 'carol', reason: 'stop', rollBack: false },
        3_000,
      ),
    );
    assert.equal(
      transitions.requestAbort(kept, { actor: 'x', reason: 'y', rollBack: true }, 3_000),
      null,
    );
    kept = must(transitions.applyAbort(kept, 3_100));
    assert.equal(kept.state, 'aborted');
    assert.deepEqual(
      kept.stages.map((s) => s.state),
      ['failed', 'skipped'],
    );
    assert.equal(kept.stages[0]!.zones[0]!.state, 'converged');

    let rolled = must(
      transitions.requestAbort(
        verifying,
        { actor: 'carol', reason: 'stop', rollBack: true },
        3_000,
      ),
    );
    rolled = must(transitions.applyAbort(rolled, 3_100));
    assert.equal(rolled.state, 'rolling_back');
    assert.equal(rolled.rollbackCause, 'rollback_manual');
    assert.deepEqual(
      zonesToRollBack(rolled).map((z) => z.zoneId),
      ['zone-a'],
    );
  });

  it('records verdict rows only when they change', () => {
    let d = throughConvergence(twoStages().document, 2_000);
    const first = transitions.verdictObserved(d, verdict('pending'), 2_100);
    assert.deepEqual(
      first?.events.map((e) => e.kind),
      ['verdict', 'verdict_row', 'verdict_row'],
    );
    d = must(first);
    assert.equal(transitions.verdictObserved(d, verdict('pending'), 2_200), null);
    const next = transitions.verdictObserved(d, verdict('fail'), 2_300);
    assert.deepEqual(
      next?.events.map((e) => e.kind),
      ['verdict', 'verdict_row'],
    );
  });

  it('ends failed without rollback when the first activation is refused', () => {
    let d = must(transitions.startStage(twoStages().document, 2_000));
    d = must(transitions.stageFailed(d, 'activation of zone "zone-a" refused', 2_100));
    assert.equal(d.state, 'failed');
    assert.match(d.failureReason, /refused/);
  });
});
