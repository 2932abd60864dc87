import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  InvalidArgumentError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
} from '@caracal-deploy/errors';

import { httpAnswerOf } from '../http/http-errors.js';
import { asDependencyError } from './simulation.client.js';

describe('simulation dependency errors', () => {
  it('answers 413 with the limit for a batch over the validator limit', () => {
    const error = asDependencyError(
      new ResourceExhaustedError('at most 5 cases per simulation, got 6', {
        details: { limit: '5' },
      }),
      'policy-validator',
    );
    assert.equal(httpAnswerOf(error).status, 413);
    assert.equal(error.details['limit'], '5');
    assert.match(error.message, /at most 5 cases/);
  });

  it('answers 503 naming the dependency when it is down or lacks the call', () => {
    for (const cause of [
      new UnavailableError('connect ECONNREFUSED'),
      new UnimplementedError('unknown service'),
    ]) {
      const error = asDependencyError(cause, 'activation-coordinator');
      assert.equal(httpAnswerOf(error).status, 503);
      assert.equal(error.details['dependency'], 'activation-coordinator');
    }
  });

  it('passes bad input through with its violations', () => {
    const cause = new InvalidArgumentError('bad gate', {
      violations: [{ field: 'gate[1]', problem: 'unknown clause' }],
    });
    const error = asDependencyError(cause, 'policy-validator');
    assert.equal(error, cause);
    assert.equal(httpAnswerOf(error).status, 400);
  });
});
