import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Decision } from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  ResourceExhaustedError,
  UnavailableError,
} from '@caracal-deploy/errors';

import { StsPool, type StsClient } from './sts-pool.js';

type Behaviour = 'allow' | 'deny' | 'down' | 'full' | 'not_served';

describe('StsPool', () => {
  const setup = (behaviours: Record<string, Behaviour>) => {
    let clock = 0;
    const calls: string[] = [];
    const connects: string[] = [];
    const failures: string[] = [];
    const pool = new StsPool({
      addresses: Object.keys(behaviours),
      timeoutMs: 100,
      cooldownMs: 1_000,
      now: () => clock,
      onReplicaFailed: (address, code) => failures.push(`${address}:${code}`),
      connect: (address): StsClient => {
        connects.push(address);
        return {
          close: () => undefined,
          ping: () =>
            behaviours[address] === 'down'
              ? Promise.reject(new UnavailableError('refused'))
              : Promise.resolve(),
          decide: (request) => {
            calls.push(address);
            const behaviour = behaviours[address];
            if (behaviour === 'down') return Promise.reject(new UnavailableError('refused'));
            if (behaviour === 'full') return Promise.reject(new ResourceExhaustedError('full'));
            if (behaviour === 'not_served')
              return Promise.reject(new FailedPreconditionError('zone not served'));
            return Promise.resolve({
              decision: behaviour === 'allow' ? Decision.ALLOW : Decision.DENY,
              decisionId: `d-${request.requestId}`,
              revision: 'rev-1',
              evaluationStatus: 'complete',
              resultJson: '',
              reason: '',
            } as never);
          },
        };
      },
    });
    return { pool, calls, connects, failures, behaviours, tick: (ms: number) => (clock += ms) };
  };

  it('spreads decisions over healthy replicas', async () => {
    const { pool, calls } = setup({ a: 'allow', b: 'allow' });
    for (let i = 0; i < 4; i += 1) await pool.decide('zone-1', `r${i}`, {});
    assert.deepEqual(calls, ['a', 'b', 'a', 'b']);
  });

  it('fails over from a down or full replica and skips it during the cooldown', async () => {
    const { pool, calls, failures } = setup({ a: 'down', b: 'full', c: 'deny' });
    const outcome = await pool.decide('zone-1', 'r1', {});
    assert.equal(outcome.kind, 'decided');
    assert.equal(outcome.kind === 'decided' && outcome.decision, 'deny');
    assert.equal(outcome.kind === 'decided' && outcome.address, 'c');
    assert.deepEqual(failures, ['a:unavailable', 'b:resource_exhausted']);
    calls.length = 0;
    await pool.decide('zone-1', 'r2', {});
    assert.deepEqual(calls, ['c'], 'a and b are cooling down');
    assert.equal(pool.healthyCount, 1);
  });

  it('answers unavailable when every replica fails, and reconnects after the cooldown', async () => {
    const { pool, connects, behaviours, tick } = setup({ a: 'down', b: 'down' });
    const outcome = await pool.decide('zone-1', 'r1', {});
    assert.equal(outcome.kind, 'unavailable');
    assert.match(outcome.kind === 'unavailable' ? outcome.message : '', /unavailable/);
    behaviours['a'] = 'allow';
    tick(1_000);
    const back = await pool.decide('zone-1', 'r2', {});
    assert.equal(back.kind, 'decided');
    assert.deepEqual(connects, ['a', 'b', 'b', 'a'], 'fresh channels once the cooldown is over');
  });

  it('counts failing replicas as unhealthy until a ping after the cooldown answers', async () => {
    const { pool, behaviours, connects, tick } = setup({ a: 'down', b: 'allow' });
    await pool.decide('zone-1', 'r1', {});
    assert.equal(pool.healthyCount, 1);
    behaviours['a'] = 'allow';
    assert.equal(await pool.probe(), 1, 'still cooling down: not pinged');
    tick(1_000);
    assert.equal(await pool.probe(), 2);
    assert.deepEqual(connects, ['a', 'b', 'a'], 'pinged on a fresh channel');
  });

  it('says the zone is not served when no replica serves it', async () => {
    const { pool } = setup({ a: 'not_served', b: 'not_served' });
    assert.equal((await pool.decide('zone-x', 'r1', {})).kind, 'zone_not_served');
  });
});
