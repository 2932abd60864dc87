import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { GetDeploymentResponse } from '@caracal-deploy/sdk';

import { DeploymentProgress } from './deployment-progress.js';

type Stage = GetDeploymentResponse['stages'][number];

function deployment(
  state: GetDeploymentResponse['state'],
  stage: Partial<Stage>,
): GetDeploymentResponse {
  return {
    id: 'd1',
    policy_set_version_id: 'v2',
    state,
    terminal: state === 'succeeded' || state === 'rolled_back',
    preflight: [],
    stages: [
      {
        name: 'canary',
        regions: ['eu', 'us'],
        bake_seconds: 0,
        gates: {
          min_probe_rounds_per_region: 1,
          max_transport_error_ratio: 0,
          max_policy_age_seconds: 30,
          timeout_seconds: 60,
        },
        state: 'pending',
        zones: [],
        verdict: null,
        started_at: null,
        finished_at: null,
        ...stage,
      },
    ],
    zone_versions: [],
    accept_no_rollback_zones: [],
    current_stage: 0,
    failure_reason: '',
    paused_by: '',
    actor: 'token:ci',
    reason: 'ship',
    idempotency_key: 'k',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    finished_at: null,
  };
}

const zone = (serving: number, state: Stage['zones'][number]['state'] = 'activated') => ({
  zone: 'shop',
  policy_set_version_id: 'v2',
  manifest_sha256: 'abc',
  state,
  previous_policy_set_version_id: 'v1',
  activation_id: 'a1',
  live_replicas: 4,
  serving_replicas: serving,
  rollback_id: null,
  rolled_back_to_policy_set_version_id: null,
  detail: '',
});

describe('DeploymentProgress', () => {
  it('prints replicas converged N/M and verdict rows only when they change', () => {
    const lines: string[] = [];
    const progress = new DeploymentProgress((line) => lines.push(line));
    progress.update(deployment('running', { state: 'converging', zones: [zone(1)] }));
    progress.update(deployment('running', { state: 'converging', zones: [zone(1)] }));
    progress.update(deployment('running', { state: 'converging', zones: [zone(4, 'converged')] }));
    const verdict = (canary: 'pending' | 'pass' | 'fail') => ({
      state: canary,
      rows: [
        { check: 'canary_decisions', state: canary, evidence: `eu+us: ${canary}`, details: {} },
      ],
      started_at: null,
      decided_at: null,
    });
    progress.update(
      deployment('running', {
        state: 'verifying',
        zones: [zone(4, 'converged')],
        verdict: verdict('pending'),
      }),
    );
    progress.update(
      deployment('running', {
        state: 'verifying',
        zones: [zone(4, 'converged')],
        verdict: verdict('fail'),
      }),
    );
    assert.deepEqual(lines, [
      'deployment d1: running',
      '  stage canary: converging',
      '    zone shop: activated, replicas converged 1/4 (regions eu, us)',
      '    zone shop: converged, replicas converged 4/4 (regions eu, us)',
      '  stage canary: verifying',
      '    verdict … canary_decisions: eu+us: pending',
      '  stage canary verdict: pending',
      '    verdict ✘ canary_decisions: eu+us: fail',
      '  stage canary verdict: fail',
    ]);
  });

  it('prints an event with its stage and zone', () => {
    const lines: string[] = [];
    new DeploymentProgress((line) => lines.push(line)).event({
      seq: 3,
      kind: 'stage_rolled_back',
      stage: 'canary',
      zone: 'shop',
      message: 'verdict failed',
      details: {},
      at: '2026-01-01T00:01:00Z',
    });
    assert.deepEqual(lines, [
      '2026-01-01T00:01:00Z  stage_rolled_back [canary/shop]: verdict failed',
    ]);
  });
});
