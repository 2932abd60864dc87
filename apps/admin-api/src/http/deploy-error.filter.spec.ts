import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ArgumentsHost } from '@nestjs/common';
import { NotFoundException } from '@nestjs/common';
import { AlreadyExistsError, InvalidArgumentError, UnavailableError } from '@caracal-deploy/errors';

import { DeployErrorFilter } from './deploy-error.filter.js';
import { MethodNotAllowedError, PayloadTooLargeError, PolicyFindingsError } from './http-errors.js';

interface Captured {
  status?: number;
  body?: { error: Record<string, unknown> };
  headers: Record<string, string>;
}

function run(exception: unknown): { captured: Captured; logged: string[] } {
  const captured: Captured = { headers: {} };
  const response = {
    headersSent: false,
    setHeader(name: string, value: string) {
      captured.headers[name] = value;
    },
    status(code: number) {
      captured.status = code;
      return response;
    },
    json(body: { error: Record<string, unknown> }) {
      captured.body = body;
      return response;
    },
  };
  const request = { method: 'POST', url: '/v1/zones' };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  const filter = new DeployErrorFilter();
  const logged: string[] = [];
  (filter as unknown as { logger: { error: (message: string) => void } }).logger = {
    error: (message: string) => logged.push(message),
  };
  filter.catch(exception, host);
  return { captured, logged };
}

describe('DeployErrorFilter', () => {
  it('maps codes to HTTP status through the shared table, with the error body', () => {
    const { captured } = run(
      new InvalidArgumentError('bad', { violations: [{ field: 'name', problem: 'required' }] }),
    );
    assert.equal(captured.status, 400);
    assert.deepEqual(captured.body, {
      error: {
        code: 'invalid_argument',
        message: 'bad',
        violations: [{ field: 'name', problem: 'required' }],
        details: {},
      },
    });
    assert.equal(run(new AlreadyExistsError('dup')).captured.status, 409);
    assert.equal(run(new UnavailableError('down')).captured.status, 503);
  });

  it('answers an unknown throw with 500 "internal error", logging the cause and never sending it', () => {
    const { captured, logged } = run(new TypeError('password=hunter2 in connection string'));
    assert.equal(captured.status, 500);
    assert.equal(captured.body?.error['message'], 'internal error');
    assert.doesNotMatch(JSON.stringify(captured.body), /hunter2/);
    assert.match(logged[0] ?? '', /hunter2/);
  });

  it('refines 405 with Allow, 413 for bodies and 422 with findings', () => {
    const notAllowed = run(new MethodNotAllowedError('immutable', ['GET', 'HEAD'])).captured;
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.headers['allow'], 'GET, HEAD');
    assert.equal(run(new PayloadTooLargeError('big')).captured.status, 413);
    const finding = {
      severity: 'error' as const,
      code: 'blocked_builtin',
      message: 'http.send is blocked',
      location: { file: 'a.rego', line: 3, column: 5 },
      details: { builtin: 'http.send' },
    };
    const invalid = run(
      new PolicyFindingsError('invalid', { findings: [finding], tests: [] }, {}),
    ).captured;
    assert.equal(invalid.status, 422);
    assert.deepEqual(invalid.body?.error['findings'], [finding]);
    assert.deepEqual(invalid.body?.error['violations'], [
      { field: 'a.rego:3:5', problem: 'blocked_builtin: http.send is blocked' },
    ]);
  });

  it("turns Nest's unknown-route 404 into not_found", () => {
    const { captured } = run(new NotFoundException());
    assert.equal(captured.status, 404);
    assert.equal(captured.body?.error['code'], 'not_found');
  });
});
