// Test support: make a real STS replica miss one invalidation for real.
import { invalidationStream } from '@caracal-deploy/redis';
import { waitFor } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import type { SpawnedSts } from './spawned-sts.js';

/**
 * Freezes `replica`, closes its stream connection, runs `publish` (which must
 * lead to an invalidation carrying `activationId` being published), deletes that
 * entry from the stream, then thaws the replica: it reconnects and resumes after
 * its last entry id, so the message is gone for it and only its periodic check
 * can bring it up to date. Resolves once the replica runs again.
 */
export async function missInvalidation(
  redis: Redis,
  replica: SpawnedSts,
  publish: () => Promise<string>,
): Promise<string> {
  replica.signal('SIGSTOP');
  try {
    const clients = (await redis.client('LIST')) as string;
    const reader = clients
      .split('\n')
      .find((line) => line.includes(` name=caracal-sts-${replica.replicaId} `));
    const id = reader ? /(?:^| )id=(\d+)/.exec(reader)?.[1] : undefined;
    if (!id) throw new Error(`no stream connection of ${replica.replicaId} in CLIENT LIST`);
    await redis.client('KILL', 'ID', id);
    const activationId = await publish();
    const entry = await waitFor(
      async () =>
        (await redis.xrevrange(invalidationStream, '+', '-', 'COUNT', 500)).find(([, fields]) =>
          fields.includes(activationId),
        )?.[0],
      { timeoutMs: 30_000, intervalMs: 5, description: 'the invalidation to be published' },
    );
    await redis.xdel(invalidationStream, entry);
    return activationId;
  } finally {
    replica.signal('SIGCONT');
  }
}
