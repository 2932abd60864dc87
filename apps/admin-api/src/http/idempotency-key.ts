import { InvalidArgumentError } from '@caracal-deploy/errors';

/** Longest accepted idempotency key (the coordinator's limit). */
const maxKeyLength = 1_000;

/**
 * The idempotency key of a change request: the `Idempotency-Key` header or the
 * body's `idempotency_key`. Both may be sent when they agree; one that differs
 * from the other, or an empty or oversized header, is a 400 naming it.
 */
export function idempotencyKeyOf(
  header: string | string[] | undefined,
  body: string | undefined,
): string | undefined {
  if (Array.isArray(header)) {
    throw new InvalidArgumentError('send one Idempotency-Key header', {
      violations: [
        { field: 'Idempotency-Key', problem: `expected one header, got ${header.length}` },
      ],
    });
  }
  const fromHeader = header?.trim();
  if (fromHeader !== undefined && (fromHeader === '' || fromHeader.length > maxKeyLength)) {
    throw new InvalidArgumentError('invalid Idempotency-Key header', {
      violations: [
        {
          field: 'Idempotency-Key',
          problem: `expected 1 to ${maxKeyLength} characters, got ${fromHeader.length}`,
        },
      ],
    });
  }
  if (fromHeader !== undefined && body !== undefined && fromHeader !== body) {
    throw new InvalidArgumentError('the Idempotency-Key header and idempotency_key differ', {
      violations: [
        {
          field: 'idempotency_key',
          problem: 'differs from the Idempotency-Key header; send one of them, or the same key',
        },
      ],
    });
  }
  return fromHeader ?? body;
}

/** {@link idempotencyKeyOf} for a request that cannot be retried safely without one: absent is a 400. */
export function requireIdempotencyKey(
  header: string | string[] | undefined,
  body: string | undefined,
): string {
  const key = idempotencyKeyOf(header, body);
  if (key === undefined) {
    throw new InvalidArgumentError('this request needs an idempotency key', {
      violations: [
        {
          field: 'idempotency_key',
          problem: 'required: send an Idempotency-Key header or idempotency_key in the body',
        },
      ],
    });
  }
  return key;
}
