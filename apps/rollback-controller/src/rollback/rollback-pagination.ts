import { InvalidArgumentError } from '@caracal-deploy/errors';

/** Page size when the caller sets none. */
export const defaultPageSize = 50;
/** Largest page a caller may ask for. */
export const maxPageSize = 500;

const prefix = 'r1.';

/** The opaque page token after the record with sequence number `seq`. */
export function encodePageToken(seq: string): string {
  return Buffer.from(`${prefix}${seq}`, 'utf8').toString('base64url');
}

/** The sequence number a page token points after; a token this service did not issue is refused. */
export function decodePageToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const seq = text.startsWith(prefix) ? text.slice(prefix.length) : '';
  if (!/^[0-9]{1,19}$/.test(seq) || encodePageToken(seq) !== token) {
    throw new InvalidArgumentError('invalid page_token', {
      violations: [{ field: 'page_token', problem: 'not a page token returned by ListRollbacks' }],
    });
  }
  return seq;
}

/** The page size to use for `requested` (0: the default); out of range is refused. */
export function pageSizeOf(requested: number): number {
  if (requested === 0) return defaultPageSize;
  if (requested < 0 || requested > maxPageSize) {
    throw new InvalidArgumentError(`invalid page_size: ${requested}`, {
      violations: [{ field: 'page_size', problem: `expected 0..${maxPageSize}, got ${requested}` }],
    });
  }
  return requested;
}
