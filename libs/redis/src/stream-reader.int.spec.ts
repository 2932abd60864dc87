import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  assertReachable,
  createRedisNamespace,
  infraSettings,
  uniqueName,
  waitFor,
  type RedisNamespace,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { StreamReader, createRedis, type StreamEntry } from './index.js';

const settings = infraSettings();

/** Drains `reader` in the background into `entries`; `finished` settles when its loop ends. */
function drain(reader: StreamReader): { entries: StreamEntry[]; finished: Promise<void> } {
  const entries: StreamEntry[] = [];
  const finished = (async () => {
    for await (const entry of reader) entries.push(entry);
  })();
  return { entries, finished };
}

async function received(entries: StreamEntry[], n: number, who: string): Promise<void> {
  await waitFor(() => (entries.length >= n ? true : undefined), {
    timeoutMs: 10_000,
    description: `${who} to receive ${n} entries (has ${entries.length})`,
  });
}

async function clientNames(redis: Redis): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return [...list.matchAll(/ name=(\S*)/g)].map((match) => match[1] ?? '');
}

describe('StreamReader against Redis', () => {
  let redis: Redis;
  let namespace: RedisNamespace;
  const readers: StreamReader[] = [];
  const open = async (
    stream: string,
    from?: string,
    blockMs?: number,
    connectionName = uniqueName('reader'),
  ): Promise<StreamReader> => {
    const reader = await StreamReader.open({
      url: settings.redisUrl,
      stream,
      // Smaller than the number of entries, so readers page through several XREADs.
      count: 7,
      connectionName,
      ...(from === undefined ? {} : { from }),
      ...(blockMs === undefined ? {} : { blockMs }),
    });
    readers.push(reader);
    return reader;
  };
  const add = async (stream: string, fields: Record<string, string>): Promise<string> => {
    const id = await redis.xadd(stream, '*', ...Object.entries(fields).flat());
    assert.ok(id !== null);
    return id;
  };

  before(async () => {
    await assertReachable('redis', settings);
    redis = await createRedis(settings.redisUrl);
    namespace = await createRedisNamespace(settings.redisUrl);
  });
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((reader) => reader.stop()));
  });
  after(async () => {
    await namespace.cleanup();
    await redis.quit();
  });

  it('delivers every entry, in order and with its fields, to each of two readers', async () => {
    const stream = namespace.key('caracal.policy.invalidate');
    const first = drain(await open(stream));
    const second = drain(await open(stream));

    const sent: StreamEntry[] = [];
    for (let i = 0; i < 25; i += 1) {
      const fields = {
        zone_id: `zone-${i % 3}`,
        policy_set_version_id: `psv-${i}`,
        manifest_sha256: `sha-${i}`,
      };
      sent.push({ id: await add(stream, fields), fields });
    }

    await received(first.entries, sent.length, 'the first reader');
    await received(second.entries, sent.length, 'the second reader');
    assert.deepEqual(first.entries, sent);
    assert.deepEqual(second.entries, sent);
  });

  it('from $ delivers only entries added after open(); from 0 the whole stream', async () => {
    const stream = namespace.key('from-dollar');
    await add(stream, { n: 'before-1' });
    await add(stream, { n: 'before-2' });
    const latest = drain(await open(stream, '$'));
    const whole = drain(await open(stream, '0'));
    await add(stream, { n: 'after-1' });
    await add(stream, { n: 'after-2' });

    await received(latest.entries, 2, 'the $ reader');
    await received(whole.entries, 4, 'the 0 reader');
    // Stream order is kept, so had the $ reader seen an older entry it would come first.
    assert.deepEqual(
      latest.entries.map((entry) => entry.fields.n),
      ['after-1', 'after-2'],
    );
    assert.deepEqual(
      whole.entries.map((entry) => entry.fields.n),
      ['before-1', 'before-2', 'after-1', 'after-2'],
    );
  });

  it(
    'stop() ends a loop blocked in XREAD and closes its connection; a new reader resumes from position',
    { timeout: 30_000 },
    async () => {
      const stream = namespace.key('stop');
      const name = uniqueName('reader');
      // A block far longer than the test timeout: only stop() can end this loop in time.
      const reader = await open(stream, '$', 600_000, name);
      assert.ok((await clientNames(redis)).includes(name));
      const running = drain(reader);
      await add(stream, { n: '1' });
      await received(running.entries, 1, 'the reader');

      await reader.stop();
      await running.finished;
      await connectionGone(name);

      await add(stream, { n: '2' });
      const resumed = drain(await open(stream, reader.position));
      await received(resumed.entries, 1, 'the resumed reader');
      assert.deepEqual(
        resumed.entries.map((entry) => entry.fields.n),
        ['2'],
      );
    },
  );

  it('leaving a for-await loop early stops the reader', async () => {
    const stream = namespace.key('break');
    const name = uniqueName('reader');
    const reader = await open(stream, '0', undefined, name);
    const firstId = await add(stream, { n: '1' });
    await add(stream, { n: '2' });
    const seen: string[] = [];
    for await (const entry of reader) {
      seen.push(entry.fields.n ?? '');
      break;
    }
    assert.deepEqual(seen, ['1']);
    assert.equal(reader.position, firstId);
    await connectionGone(name);
  });

  async function connectionGone(name: string): Promise<void> {
    await waitFor(async () => ((await clientNames(redis)).includes(name) ? undefined : true), {
      timeoutMs: 10_000,
      description: `connection ${name} to disappear from CLIENT LIST`,
    });
  }
});
