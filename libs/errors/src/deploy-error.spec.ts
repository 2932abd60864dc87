import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  errorCodeOfGrpcStatus,
  errorCodes,
  errorFromCode,
  grpcStatusByCode,
  httpStatusByCode,
  toDeployError,
} from './index.js';

describe('DeployError', () => {
  it('keeps code, name, violations and cause', () => {
    const cause = new Error('boom');
    const error = new InvalidArgumentError('bad case', {
      cause,
      violations: [{ field: 'cases[0].input.action', problem: 'required, got nothing' }],
    });
    assert.equal(error.code, 'invalid_argument');
    assert.equal(error.name, 'InvalidArgumentError');
    assert.equal(error.cause, cause);
    assert.deepEqual(error.violations, [
      { field: 'cases[0].input.action', problem: 'required, got nothing' },
    ]);
  });

  it('hides the cause of an unknown throw behind a generic internal error', () => {
    const error = toDeployError(new TypeError('secret connection string in here'));
    assert.ok(error instanceof InternalError);
    assert.equal(error.message, 'internal error');
    assert.ok(error.cause instanceof TypeError);
  });

  it('passes DeployErrors through unchanged', () => {
    const error = new FailedPreconditionError('stale');
    assert.equal(toDeployError(error), error);
  });

  it('maps every code to a distinct gRPC status and back', () => {
    const statuses = errorCodes.map((code) => grpcStatusByCode[code]);
    assert.equal(new Set(statuses).size, errorCodes.length);
    for (const code of errorCodes) {
      assert.equal(errorCodeOfGrpcStatus(grpcStatusByCode[code]), code);
      assert.equal(errorFromCode(code, 'm').code, code);
      assert.ok(httpStatusByCode[code] >= 400, `${code} has an HTTP error status`);
    }
    assert.equal(errorCodeOfGrpcStatus(2), 'internal');
  });

  it('maps a failed precondition to HTTP 409 and gRPC FAILED_PRECONDITION', () => {
    assert.equal(httpStatusByCode.failed_precondition, 409);
    assert.equal(grpcStatusByCode.failed_precondition, 9);
  });
});
