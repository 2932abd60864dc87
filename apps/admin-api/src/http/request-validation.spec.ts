import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { createPolicyVersionBody, listQuery } from './api.schemas.js';
import { parseInput } from './request-validation.js';

function violationsOf(run: () => unknown): { field: string; problem: string }[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return [...error.violations];
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('parseInput', () => {
  it('names the field path and what was expected and seen', () => {
    const violations = violationsOf(() =>
      parseInput(createPolicyVersionBody, { modules: [{ path: 7, source: 'x' }] }, 'body'),
    );
    assert.deepEqual(violations, [
      { field: 'modules[0].path', problem: 'expected string, got number' },
    ]);
  });

  it('puts the first violation in the message and counts the rest', () => {
    assert.throws(
      () => parseInput(createPolicyVersionBody, { modules: [{}], extra: 1 }, 'body'),
      /^InvalidArgumentError: invalid body: modules\[0\]\.path: expected string, got nothing \(and 2 more\)$/,
    );
  });

  it('refuses unknown fields, paths escaping the bundle and non-.rego modules', () => {
    const violations = violationsOf(() =>
      parseInput(
        createPolicyVersionBody,
        {
          modules: [
            { path: '../x.rego', source: '' },
            { path: 'a.txt', source: '' },
          ],
          data: [{ path: 'grants.json', json: {} }],
          surprise: true,
        },
        'body',
      ),
    );
    assert.deepEqual(
      violations.map((violation) => violation.field),
      ['modules[0].path', 'modules[1].path', 'data[0].path', 'body'],
    );
  });

  it('applies defaults and coerces query strings', () => {
    assert.deepEqual(parseInput(listQuery, {}, 'query'), { limit: 50 });
    assert.deepEqual(parseInput(listQuery, { limit: '200' }, 'query'), { limit: 200 });
    assert.throws(() => parseInput(listQuery, { limit: '201' }, 'query'), /limit/);
  });
});
