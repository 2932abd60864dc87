import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { create } from '@bufbuild/protobuf';
import { ActivateRequestSchema, ListActivationsRequestSchema } from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { parseActivateRequest, parseListRequest } from './activation-requests.js';

const version = '33333333-3333-4333-8333-333333333333';

const fieldsOf = (action: () => unknown): string[] => {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return error.violations.map((v) => v.field);
  }
  assert.fail('expected an InvalidArgumentError');
};

describe('parseActivateRequest', () => {
  it('accepts a complete request; "" expects no active version', () => {
    const command = parseActivateRequest(
      create(ActivateRequestSchema, {
        zoneId: 'zone-eu',
        policySetVersionId: version,
        expectedActiveVersionId: '',
        idempotencyKey: 'deploy-42',
        reason: 'release',
        actor: 'ci',
      }),
    );
    assert.equal(command.expectedActiveVersionId, '');
    assert.equal(command.trigger, 'manual');
  });

  it('names every bad field, including an unset expectation', () => {
    assert.deepEqual(
      fieldsOf(() =>
        parseActivateRequest(
          create(ActivateRequestSchema, { zoneId: 'Zone EU', policySetVersionId: 'v1' }),
        ),
      ),
      [
        'zone_id',
        'policy_set_version_id',
        'expected_active_version_id',
        'idempotency_key',
        'reason',
        'actor',
      ],
    );
  });
});

describe('parseListRequest', () => {
  it('defaults the page size and bounds it', () => {
    assert.equal(
      parseListRequest(create(ListActivationsRequestSchema, { zoneId: 'z' })).pageSize,
      50,
    );
    assert.deepEqual(
      fieldsOf(() =>
        parseListRequest(
          create(ListActivationsRequestSchema, { zoneId: 'z', pageSize: 501, pageToken: 'abc' }),
        ),
      ),
      ['page_size', 'page_token'],
    );
  });
});
