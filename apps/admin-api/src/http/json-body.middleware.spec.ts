import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { loadAdminConfig } from '../config/admin.config.js';
import { PayloadTooLargeError } from './http-errors.js';
import type { ApiRequest } from './http-types.js';
import { JsonBodyMiddleware } from './json-body.middleware.js';

const middleware = new JsonBodyMiddleware(
  loadAdminConfig({ CARACAL_ADMIN_MAX_BODY_BYTES: '1024' }),
);

/** Runs the middleware on a request carrying `chunks`; resolves with what it passed to next. */
async function run(
  headers: Record<string, string>,
  chunks: readonly string[],
): Promise<{ body: unknown; error: unknown }> {
  const stream = new PassThrough();
  const request = Object.assign(stream, {
    headers,
    params: {},
    query: {},
  }) as unknown as ApiRequest;
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  const error = await new Promise<unknown>((resolve) => {
    void middleware.use(request, undefined, resolve);
  });
  return { body: request.body, error };
}

describe('JsonBodyMiddleware', () => {
  it('parses a JSON body within the limit', async () => {
    const text = '{"name":"prod"}';
    const { body, error } = await run(
      { 'content-type': 'application/json; charset=utf-8', 'content-length': String(text.length) },
      [text],
    );
    assert.equal(error, undefined);
    assert.deepEqual(body, { name: 'prod' });
  });

  it('refuses a declared length over the limit before reading', async () => {
    const { error } = await run(
      { 'content-type': 'application/json', 'content-length': '5000' },
      [],
    );
    assert.ok(error instanceof PayloadTooLargeError);
    assert.match(error.message, /limit of 1024 bytes/);
  });

  it('refuses a chunked body once it grows past the limit', async () => {
    const { error } = await run(
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      ['[', '1,'.repeat(600), '1]'],
    );
    assert.ok(error instanceof PayloadTooLargeError);
  });

  it('refuses bodies that are not JSON, or not declared as JSON', async () => {
    const broken = await run({ 'content-type': 'application/json', 'content-length': '3' }, [
      '{x}',
    ]);
    assert.ok(broken.error instanceof InvalidArgumentError);
    assert.match(broken.error.message, /not valid JSON/);
    const text = await run({ 'content-type': 'text/plain', 'content-length': '2' }, ['hi']);
    assert.ok(text.error instanceof InvalidArgumentError);
    assert.equal(text.error.violations[0]?.field, 'content-type');
  });

  it('leaves requests without a body alone', async () => {
    const { body, error } = await run({}, []);
    assert.equal(error, undefined);
    assert.equal(body, undefined);
  });
});
