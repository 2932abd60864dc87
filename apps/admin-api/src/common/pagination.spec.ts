import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { decodeCursor, encodeCursor, toPage } from './pagination.js';

describe('pagination cursors', () => {
  it('round-trips a sequence number through an opaque cursor', () => {
    const cursor = encodeCursor('12345');
    assert.doesNotMatch(cursor, /12345/);
    assert.equal(decodeCursor(cursor), '12345');
  });

  it('rejects cursors this server did not issue, naming the cursor field', () => {
    for (const bad of [
      'abc',
      encodeCursor('x1'),
      Buffer.from('c1.1; drop').toString('base64url'),
    ]) {
      assert.throws(
        () => decodeCursor(bad),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.violations[0]?.field === 'cursor',
      );
    }
  });

  it('sets next_cursor only when a row beyond the page was fetched', () => {
    const rows = [{ seq: '1' }, { seq: '2' }, { seq: '3' }];
    const full = toPage(rows, 2, (row) => row.seq);
    assert.deepEqual(full.items, ['1', '2']);
    assert.equal(full.next_cursor === null ? null : decodeCursor(full.next_cursor), '2');
    const last = toPage(rows.slice(0, 2), 2, (row) => row.seq);
    assert.equal(last.next_cursor, null);
  });
});
