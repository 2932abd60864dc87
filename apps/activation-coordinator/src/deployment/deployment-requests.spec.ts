import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { create } from '@bufbuild/protobuf';
import { DeployRequestSchema, type DeployRequest } from '@caracal-deploy/contracts';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { parseDeployRequest } from './deployment-requests.js';

const versionId = '11111111-1111-4111-8111-111111111111';

const base: MessageInitShape<typeof DeployRequestSchema> = {
  policySetVersionId: versionId,
  stages: [
    { name: 'canary', zones: ['zone-a'], regions: ['eu'], bakeSeconds: 30 },
    { name: 'prod', zones: ['zone-b'], regions: ['eu', 'us'], bakeSeconds: 60 },
  ],
  options: { idempotencyKey: 'key-1', actor: 'alice', reason: 'ship' },
};

const request = (overrides: MessageInitShape<typeof DeployRequestSchema> = {}): DeployRequest =>
  create(DeployRequestSchema, { ...base, ...overrides } as MessageInitShape<
    typeof DeployRequestSchema
  >);

const fields = (error: unknown): string[] => {
  assert.ok(
    error instanceof InvalidArgumentError,
    `expected InvalidArgumentError, got ${String(error)}`,
  );
  return (error.violations ?? []).map((v) => v.field);
};

describe('parseDeployRequest', () => {
  it('accepts a two-stage request and fingerprints it', () => {
    const command = parseDeployRequest(request());
    assert.deepEqual(
      command.stages.map((s) => [s.name, s.zones, s.gates.bakeSeconds]),
      [
        ['canary', ['zone-a'], 30],
        ['prod', ['zone-b'], 60],
      ],
    );
    assert.equal(command.requestSha256, parseDeployRequest(request()).requestSha256);
    assert.notEqual(
      command.requestSha256,
      parseDeployRequest(
        request({ options: { idempotencyKey: 'key-1', actor: 'alice', reason: 'other' } }),
      ).requestSha256,
    );
  });

  it('names every bad field at once', () => {
    assert.throws(
      () =>
        parseDeployRequest(
          request({
            policySetVersionId: 'v1',
            stages: [
              { name: 'Canary!', zones: [], bakeSeconds: -1 },
              { name: 'prod', zones: ['zone-a', 'zone-a'], gates: { maxTransportErrorRatio: 2 } },
            ],
            options: {
              idempotencyKey: '',
              actor: 'a',
              reason: 'r',
              acceptNoRollbackZones: ['zone-z'],
            },
          }),
        ),
      (error: unknown) => {
        assert.deepEqual(fields(error), [
          'policy_set_version_id',
          'options.idempotency_key',
          'stages[0].name',
          'stages[0].zones',
          'stages[0].regions',
          'stages[0].bake_seconds',
          'stages[1].zones[1]',
          'stages[1].regions',
          'stages[1].gates.max_transport_error_ratio',
          'options.accept_no_rollback_zones[0]',
        ]);
        return true;
      },
    );
  });

  it('refuses a stage the verifier could never pass: timeout not above the bake', () => {
    for (const [gates, bakeSeconds, problem] of [
      [{ timeoutSeconds: 30 }, 30, /must exceed bake_seconds \(30\)/],
      [{}, 300, /got 120 \(the default\)/],
    ] as const)
      assert.throws(
        () =>
          parseDeployRequest(
            request({
              stages: [{ name: 'canary', zones: ['zone-a'], regions: ['eu'], bakeSeconds, gates }],
            }),
          ),
        (error: unknown) => {
          assert.deepEqual(fields(error), ['stages[0].gates.timeout_seconds']);
          assert.match((error as Error).message, problem);
          return true;
        },
      );
  });

  it('requires stages and options', () => {
    assert.throws(
      () => parseDeployRequest(create(DeployRequestSchema, { policySetVersionId: versionId })),
      (error: unknown) => {
        assert.deepEqual(fields(error), [
          'options',
          'options.idempotency_key',
          'options.actor',
          'options.reason',
          'stages',
        ]);
        return true;
      },
    );
  });
});
