import { InvalidArgumentError } from '@caracal-deploy/errors';

/** One page of a list endpoint: the items and the cursor of the next page (null on the last). */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next_cursor: string | null;
}

/** Page size when the caller sets none. */
export const defaultPageSize = 50;
/** Largest page a caller may ask for. */
export const maxPageSize = 200;

const prefix = 'c1.';

/**
 * The opaque cursor after the row with sequence number `seq`. Callers must not
 * parse it; the version prefix lets the encoding change without breaking
 * cursors handed out before.
 */
export function encodeCursor(seq: string): string {
  return Buffer.from(`${prefix}${seq}`, 'utf8').toString('base64url');
}

/** The sequence number a cursor points after; a cursor this server did not issue is a 400. */
export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(prefix) ? text.slice(prefix.length) : '';
  if (!/^[0-9]{1,19}$/.test(seq) || encodeCursor(seq) !== cursor) {
    throw new InvalidArgumentError('invalid cursor', {
      violations: [{ field: 'cursor', problem: 'not a cursor returned by this API' }],
    });
  }
  return seq;
}

/**
 * Builds a page from up to `limit + 1` rows fetched in list order: the extra row
 * only proves that another page exists.
 */
export function toPage<Row extends { seq: string }, T>(
  rows: readonly Row[],
  limit: number,
  map: (row: Row) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(map),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last.seq) : null,
  };
}
