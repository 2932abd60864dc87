import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError, UnavailableError } from '@caracal-deploy/errors';

import { StreamReader, createRedis, redactUrl, redisReconnectDelay } from './index.js';

describe('createRedis', () => {
  it('rejects with the address and reason when Redis is not there, instead of retrying forever', async () => {
    // Nothing listens on port 1, so the connect is refused at once.
    await assert.rejects(createRedis('redis://:hunter2@127.0.0.1:1'), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.equal(
        error.message,
        'Redis is not reachable at redis://:***@127.0.0.1:1 (ECONNREFUSED)',
      );
      return true;
    });
  });

  it('backs off exponentially up to a 2 s cap and never gives up', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 50].map(redisReconnectDelay),
      [50, 100, 200, 400, 800, 1600, 2000, 2000],
    );
  });

  it('redacts passwords in URLs', () => {
    assert.equal(redactUrl('redis://user:secret@h:1/0'), 'redis://user:***@h:1/0');
    assert.equal(redactUrl('not a url'), '<unparseable URL>');
  });
});

describe('StreamReader.open', () => {
  it('rejects a start position that is not $, 0 or an entry id before connecting', async () => {
    await assert.rejects(
      StreamReader.open({ url: 'redis://127.0.0.1:1', stream: 's', from: '>' }),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.violations[0]?.field === 'from',
    );
  });
});
