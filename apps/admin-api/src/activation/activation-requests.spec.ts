import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ActivationState,
  ActivationStatusSchema,
  ActivationTrigger,
  RollbackOutcome,
  RollbackRecordSchema,
} from '@caracal-deploy/contracts';
import { create } from '@bufbuild/protobuf';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  UnavailableError,
} from '@caracal-deploy/errors';

import { activateBody, rollbackBody } from '../http/api.schemas.js';
import { idempotencyKeyOf } from '../http/idempotency-key.js';
import { parseInput } from '../http/request-validation.js';
import { asCallerError, restField } from './activation.client.js';
import { activationStatusView, rollbackView } from './activation.views.js';

const version = '2e3c7276-8efa-4046-b37d-371458cf2e29';

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    return error.violations.map((violation) => violation.field);
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('activation request bodies', () => {
  it('require the compare-and-set expectation, accepting "" for a zone with nothing active', () => {
    const body = { policy_set_version_id: version, reason: 'release' };
    assert.deepEqual(
      fieldsOf(() => parseInput(activateBody, body, 'body')),
      ['expected_active_version_id'],
    );
    const parsed = parseInput(activateBody, { ...body, expected_active_version_id: '' }, 'body');
    assert.equal(parsed.expected_active_version_id, '');
    assert.deepEqual(
      fieldsOf(() =>
        parseInput(activateBody, { ...body, expected_active_version_id: 'current' }, 'body'),
      ),
      ['expected_active_version_id'],
    );
  });

  it('refuses a blank reason and unknown fields', () => {
    const body = { policy_set_version_id: version, expected_active_version_id: '', reason: ' ' };
    assert.deepEqual(
      fieldsOf(() => parseInput(activateBody, body, 'body')),
      ['reason'],
    );
    assert.deepEqual(
      fieldsOf(() => parseInput(rollbackBody, { reason: 'r', target: version }, 'body')),
      ['body'],
    );
    assert.equal(parseInput(rollbackBody, { reason: 'r' }, 'body').wait, false);
  });
});

describe('idempotencyKeyOf', () => {
  it('takes the header or the body, and both when they agree', () => {
    assert.equal(idempotencyKeyOf('k1', undefined), 'k1');
    assert.equal(idempotencyKeyOf(undefined, 'k2'), 'k2');
    assert.equal(idempotencyKeyOf('k3', 'k3'), 'k3');
    assert.equal(idempotencyKeyOf(undefined, undefined), undefined);
  });

  it('refuses a header and body that differ, a blank header and repeated headers', () => {
    assert.deepEqual(
      fieldsOf(() => idempotencyKeyOf('a', 'b')),
      ['idempotency_key'],
    );
    assert.deepEqual(
      fieldsOf(() => idempotencyKeyOf('  ', undefined)),
      ['Idempotency-Key'],
    );
    assert.deepEqual(
      fieldsOf(() => idempotencyKeyOf(['a', 'b'], undefined)),
      ['Idempotency-Key'],
    );
  });
});

describe('dependency errors as the REST caller sees them', () => {
  it('renames wire fields to the path, query and body fields the caller sent', () => {
    assert.equal(restField('zone_id'), 'zone');
    assert.equal(restField('page_token'), 'cursor');
    assert.equal(restField('options.reason'), 'reason');
    assert.equal(restField('zone_versions[2].zone_id'), 'zone_versions[2].zone');
    assert.equal(restField('stages[1].zones[0]'), 'stages[1].zones[0]');
    const renamed = asCallerError(
      new InvalidArgumentError('bad page', {
        violations: [{ field: 'page_token', problem: 'not a token' }],
      }),
      'activation-coordinator',
    );
    assert.ok(renamed instanceof InvalidArgumentError);
    assert.deepEqual(renamed.violations, [{ field: 'cursor', problem: 'not a token' }]);
  });

  it('keeps the details of a stale expectation and names an unavailable dependency', () => {
    const stale = new FailedPreconditionError('zone has another version', {
      details: { current_active_version_id: version },
    });
    assert.equal(asCallerError(stale, 'activation-coordinator'), stale);
    const down = asCallerError(
      new UnavailableError('connect ECONNREFUSED'),
      'activation-coordinator',
    );
    assert.ok(down instanceof UnavailableError);
    assert.equal(down.details['dependency'], 'activation-coordinator');
    assert.match(down.message, /activation-coordinator is unavailable/);
  });
});

describe('activation views', () => {
  it('spell states and triggers as lowercase words and "none" as null', () => {
    const view = activationStatusView(
      create(ActivationStatusSchema, {
        activation: {
          activationId: version,
          zoneId: 'prod',
          policySetVersionId: version,
          trigger: ActivationTrigger.ROLLBACK_ALERT,
          createdAtUnixMillis: 1_700_000_000_000n,
        },
        state: ActivationState.DEAD_LETTERED,
        outbox: { state: 'dead', attempts: 8 },
      }),
    );
    assert.equal(view.state, 'dead_lettered');
    assert.equal(view.terminal, true);
    assert.equal(view.activation.trigger, 'rollback_alert');
    assert.equal(view.activation.previous_policy_set_version_id, null);
    assert.equal(view.activation.created_at, '2023-11-14T22:13:20.000Z');
    assert.equal(view.outbox.published_at, null);
    assert.equal(view.propagation_ms, null);
    const converging = activationStatusView(
      create(ActivationStatusSchema, {
        activation: { activationId: version, createdAtUnixMillis: 1n },
        state: ActivationState.CONVERGING,
      }),
    );
    assert.equal(converging.terminal, false);
  });

  it('spell rollback outcomes as lowercase words', () => {
    const view = rollbackView(
      create(RollbackRecordSchema, {
        rollbackId: 'r-1',
        zoneId: 'prod',
        outcome: RollbackOutcome.SKIPPED_NOT_ACTIVE,
        trigger: ActivationTrigger.ROLLBACK_VERDICT,
        createdAtUnixMillis: 1n,
      }),
    );
    assert.equal(view.outcome, 'skipped_not_active');
    assert.equal(view.trigger, 'rollback_verdict');
    assert.equal(view.activation_id, null);
  });
});
