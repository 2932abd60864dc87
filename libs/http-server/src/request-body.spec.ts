import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';

import { PayloadTooLargeError, readBodyBytes, refuseDeclaredOverLimit } from './index.js';

/** A request carrying `chunks` with `headers`. */
function request(headers: Record<string, string>, chunks: readonly string[]): IncomingMessage {
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  return Object.assign(stream, { headers }) as unknown as IncomingMessage;
}

describe('request bodies', () => {
  it('reads a body within the limit as its exact bytes', async () => {
    const bytes = await readBodyBytes(request({}, ['{"a":', '1}']), 16);
    assert.equal(bytes.toString('utf8'), '{"a":1}');
  });

  it('refuses a body once it grows past the limit, with 413 and the limit', async () => {
    const error = await readBodyBytes(request({}, ['x'.repeat(10), 'y'.repeat(10)]), 16).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof PayloadTooLargeError);
    assert.equal(error.httpStatus, 413);
    assert.equal(
      error.message,
      'request body exceeds the limit of 16 bytes (more than 16 bytes sent)',
    );
    assert.deepEqual(error.details, { limit_bytes: '16' });
  });

  it('refuses a declared length over the limit before reading', () => {
    assert.throws(
      () => refuseDeclaredOverLimit(request({ 'content-length': '17' }, []), 16),
      /limit of 16 bytes \(17 bytes declared\)/,
    );
    refuseDeclaredOverLimit(request({ 'content-length': '16' }, []), 16);
  });
});
