import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { create } from '@bufbuild/protobuf';
import {
  DeploymentEventSchema,
  DeploymentSchema,
  DeploymentState,
  StageState,
  ZoneState,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { createDeploymentBody } from '../http/api.schemas.js';
import { parseInput } from '../http/request-validation.js';
import { deploymentEventView, deploymentView } from './deployment.views.js';

const version = '2e3c7276-8efa-4046-b37d-371458cf2e29';
const other = '7d1c2a3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

function violationsOf(body: unknown): { field: string; problem: string }[] {
  try {
    parseInput(createDeploymentBody, body, 'body');
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    return [...error.violations];
  }
  assert.fail('expected an InvalidArgumentError');
}

const valid = {
  policy_set_version_id: version,
  stages: [
    { name: 'canary', zones: ['canary'], regions: ['eu'] },
    { name: 'prod', zones: ['prod-eu', 'prod-us'], regions: ['eu', 'us'], bake_seconds: 300 },
  ],
  reason: 'widen read access',
};

describe('deployment request body', () => {
  it('accepts stages and fills the defaults', () => {
    const body = parseInput(createDeploymentBody, valid, 'body');
    assert.deepEqual(body.stages[0], {
      name: 'canary',
      zones: ['canary'],
      regions: ['eu'],
      bake_seconds: 0,
      gates: {},
    });
    assert.deepEqual(body.zone_versions, []);
    assert.deepEqual(body.accept_no_rollback_zones, []);
  });

  it('names the exact field of a malformed stage', () => {
    const stages = [valid.stages[0], { ...valid.stages[1], zones: ['prod-eu', 'Prod US'] }];
    assert.deepEqual(
      violationsOf({ ...valid, stages }).map((violation) => violation.field),
      ['stages[1].zones[1]'],
    );
    assert.deepEqual(
      violationsOf({
        ...valid,
        stages: [
          {
            name: 'canary',
            zones: ['canary'],
            regions: ['eu'],
            gates: { max_transport_error_ratio: 2 },
          },
        ],
      }).map((violation) => violation.field),
      ['stages[0].gates.max_transport_error_ratio'],
    );
    assert.deepEqual(
      violationsOf({ ...valid, stages: [] }).map((violation) => violation.field),
      ['stages'],
    );
    assert.deepEqual(
      violationsOf({
        ...valid,
        stages: [{ name: 'canary', zones: [], regions: ['eu'], bake: 1 }],
      }).map((violation) => violation.field),
      ['stages[0].zones', 'stages[0]'],
    );
  });

  it('needs at least one region per stage, whose canary agents report for the verdict', () => {
    assert.deepEqual(
      violationsOf({ ...valid, stages: [{ name: 'canary', zones: ['canary'] }] }).map(
        (violation) => violation.field,
      ),
      ['stages[0].regions'],
    );
  });

  it('refuses a zone in two stages and a stage name used twice, naming where', () => {
    const violations = violationsOf({
      ...valid,
      stages: [
        { name: 'canary', zones: ['canary'], regions: ['eu'] },
        { name: 'canary', zones: ['canary', 'prod-eu'], regions: ['eu'] },
      ],
    });
    assert.deepEqual(violations, [
      { field: 'stages[1].name', problem: 'stage "canary" appears twice' },
      {
        field: 'stages[1].zones[0]',
        problem: 'zone "canary" is already in stage "canary"; a zone belongs to one stage',
      },
    ]);
  });

  it('only lets zone versions and accepted first deployments name target zones', () => {
    const violations = violationsOf({
      ...valid,
      zone_versions: [
        { zone: 'prod-eu', policy_set_version_id: other },
        { zone: 'staging', policy_set_version_id: other },
        { zone: 'prod-eu', policy_set_version_id: other },
      ],
      accept_no_rollback_zones: ['canary', 'dev'],
    });
    assert.deepEqual(
      violations.map((violation) => violation.field),
      ['zone_versions[1].zone', 'zone_versions[2].zone', 'accept_no_rollback_zones[1]'],
    );
  });
});

describe('deployment views', () => {
  it('spell states as lowercase words, "none" as null, and mark the final states', () => {
    const view = deploymentView(
      create(DeploymentSchema, {
        deploymentId: version,
        state: DeploymentState.ROLLED_BACK,
        currentStage: -1,
        stages: [
          {
            name: 'canary',
            state: StageState.FAILED,
            zones: [{ zoneId: 'canary', state: ZoneState.ROLLBACK_SKIPPED, activationId: '' }],
          },
        ],
        createdAtUnixMillis: 1n,
        updatedAtUnixMillis: 2n,
      }),
    );
    assert.equal(view.state, 'rolled_back');
    assert.equal(view.terminal, true);
    assert.equal(view.current_stage, null);
    assert.equal(view.finished_at, null);
    assert.equal(view.stages[0]?.state, 'failed');
    assert.equal(view.stages[0]?.verdict, null);
    assert.equal(view.stages[0]?.zones[0]?.state, 'rollback_skipped');
    assert.equal(view.stages[0]?.zones[0]?.activation_id, null);
    const paused = deploymentView(
      create(DeploymentSchema, { deploymentId: version, state: DeploymentState.PAUSED }),
    );
    assert.equal(paused.terminal, false);
  });

  it('turn an event sequence number into a JSON number', () => {
    const event = deploymentEventView(
      create(DeploymentEventSchema, { seq: 42n, kind: 'stage_started', stage: 'canary' }),
    );
    assert.deepEqual(
      [event.seq, event.kind, event.stage, event.zone],
      [42, 'stage_started', 'canary', null],
    );
  });
});
