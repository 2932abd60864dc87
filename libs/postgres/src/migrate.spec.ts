import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InternalError } from '@caracal-deploy/errors';

import { MigrationError } from './index.js';

describe('MigrationError', () => {
  it('names the failed migration, keeps what was applied and the cause', () => {
    const cause = new Error('relation "x" does not exist');
    const error = new MigrationError('0003_add_index', ['0001_a', '0002_b'], cause);
    assert.ok(error instanceof InternalError);
    assert.equal(error.name, 'MigrationError');
    assert.equal(
      error.message,
      'database migration "0003_add_index" failed: relation "x" does not exist',
    );
    assert.deepEqual(error.applied, ['0001_a', '0002_b']);
    assert.deepEqual(error.details, { migration: '0003_add_index' });
    assert.equal(error.cause, cause);
  });

  it('says when the migration set itself was rejected', () => {
    const error = new MigrationError(undefined, [], new Error('corrupted migrations'));
    assert.equal(error.message, 'database migrations could not run: corrupted migrations');
  });
});
