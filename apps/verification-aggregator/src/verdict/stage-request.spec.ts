import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { VerifyStageRequestSchema } from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import type { StageRecord } from '../database/verification.repository.js';
import { sameStage, stageRequestOf } from './stage-request.js';

const revision = 'c'.repeat(64);
const valid = {
  deploymentId: 'dep-1',
  stage: 'canary',
  zones: [{ zoneId: 'zone-1', activationId: 'act-1' }],
  policySetVersionId: 'psv-1',
  revision: `sha256:${revision.toUpperCase()}`,
  regions: ['eu'],
};

describe('VerifyStage request', () => {
  it('applies the proto defaults to unset gates and normalizes the revision', () => {
    const stage = stageRequestOf(create(VerifyStageRequestSchema, valid), new Date(5));
    assert.equal(stage.revision, revision);
    assert.deepEqual(stage.gates, {
      minProbeRoundsPerRegion: 3,
      maxTransportErrorRatio: 0.05,
      maxPolicyAgeSeconds: 30,
      bakeSeconds: 0,
      timeoutSeconds: 120,
    });
    assert.equal(stage.startedAt.getTime(), 5);
  });

  it('names every bad field', () => {
    const request = create(VerifyStageRequestSchema, {
      ...valid,
      deploymentId: '',
      zones: [{ zoneId: 'zone-1', activationId: '' }],
      revision: 'abc',
      regions: [],
      gates: { bakeSeconds: 200, maxTransportErrorRatio: 2 },
    });
    assert.throws(
      () => stageRequestOf(request, new Date()),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(
          error.violations.map((v) => v.field),
          [
            'deployment_id',
            'zones[0].activation_id',
            'revision',
            'regions',
            'gates.max_transport_error_ratio',
            'gates.timeout_seconds',
          ],
        );
        return true;
      },
    );
  });

  it('accepts the same stage again and refuses a different one naming the field', () => {
    const asked = stageRequestOf(create(VerifyStageRequestSchema, valid), new Date());
    const recorded: StageRecord = {
      ...asked,
      state: 'pending',
      rows: [],
      decidedAt: null,
      changes: 1,
    };
    sameStage(recorded, asked);
    const other = stageRequestOf(
      create(VerifyStageRequestSchema, { ...valid, regions: ['eu', 'us'] }),
      new Date(),
    );
    assert.throws(
      () => sameStage(recorded, other),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.violations[0]?.field === 'regions',
    );
  });
});
