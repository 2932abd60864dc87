import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { uniqueName, waitFor } from './index.js';

describe('waitFor', () => {
  it('returns the first defined value, retrying through undefined and errors', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls += 1;
        if (calls === 1) throw new Error('not yet');
        return calls < 4 ? undefined : `ready after ${calls}`;
      },
      { timeoutMs: 10_000, intervalMs: 1, description: 'the fourth call' },
    );
    assert.equal(value, 'ready after 4');
    assert.equal(calls, 4);
  });

  it('treats falsy values other than undefined as ready', async () => {
    assert.equal(await waitFor(() => 0, { timeoutMs: 1_000, description: 'zero' }), 0);
    assert.equal(await waitFor(() => false, { timeoutMs: 1_000, description: 'false' }), false);
  });

  it('on timeout names what it waited for and the last probe error', async () => {
    const failure = new Error('connect ECONNREFUSED 127.0.0.1:1');
    await assert.rejects(
      waitFor(
        async () => {
          await Promise.resolve();
          throw failure;
        },
        { timeoutMs: 30, intervalMs: 5, description: 'the broker to accept connections' },
      ),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /waiting for the broker to accept connections/);
        assert.match(error.message, /last probe error: connect ECONNREFUSED 127\.0\.0\.1:1/);
        assert.equal(error.cause, failure);
        return true;
      },
    );
  });

  it('says so when the probe never produced a value and never failed', async () => {
    await assert.rejects(
      waitFor(() => undefined, { timeoutMs: 20, intervalMs: 5, description: 'nothing' }),
      /waiting for nothing; the probe never produced a value/,
    );
  });

  it('does not wait beyond the timeout for a probe that never settles', async () => {
    await assert.rejects(
      waitFor(() => new Promise<string>(() => undefined), {
        timeoutMs: 20,
        description: 'a hung probe',
      }),
      /waiting for a hung probe/,
    );
  });
});

describe('uniqueName', () => {
  it('never repeats and keeps the prefix', () => {
    const names = Array.from({ length: 1_000 }, () => uniqueName('topic'));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^topic_[a-z0-9_]+$/);
  });

  it('stays a valid unquoted PostgreSQL identifier (≤ 63 bytes)', () => {
    const name = uniqueName('a_thirty_character_prefix_1234');
    assert.ok(name.length <= 63, `${name} has ${name.length} characters`);
  });

  it('rejects prefixes that would make an invalid topic, key or identifier', () => {
    assert.throws(() => uniqueName('Bad Prefix'), /uniqueName prefix must match/);
    assert.throws(() => uniqueName('1abc'), /uniqueName prefix must match/);
  });
});
