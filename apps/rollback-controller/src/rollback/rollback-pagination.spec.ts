import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import {
  decodePageToken,
  defaultPageSize,
  encodePageToken,
  maxPageSize,
  pageSizeOf,
} from './rollback-pagination.js';

function refusedField(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return error.violations[0]?.field;
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('ListRollbacks paging', () => {
  it('round-trips page tokens and refuses tokens it did not issue, naming page_token', () => {
    assert.equal(decodePageToken(encodePageToken('42')), '42');
    assert.equal(
      refusedField(() => decodePageToken('42')),
      'page_token',
    );
    assert.equal(
      refusedField(() => decodePageToken(Buffer.from('r1.x').toString('base64url'))),
      'page_token',
    );
  });

  it('defaults the page size and refuses sizes out of range, naming page_size', () => {
    assert.equal(pageSizeOf(0), defaultPageSize);
    assert.equal(pageSizeOf(maxPageSize), maxPageSize);
    assert.equal(
      refusedField(() => pageSizeOf(maxPageSize + 1)),
      'page_size',
    );
    assert.equal(
      refusedField(() => pageSizeOf(-1)),
      'page_size',
    );
  });
});
