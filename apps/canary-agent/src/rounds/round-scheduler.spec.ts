import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Probe } from '../probes/probe.js';
import type { ProbeObservation } from './probe-report.js';
import { RoundScheduler, nextPauseMs } from './round-scheduler.js';
import { observation } from './test-observation.test-support.js';

const probe = (id: string): Probe => ({
  id,
  zone: 'zone-a',
  subjectClaims: { sub: 'canary' },
  resource: 'resource://orders',
  scopes: ['read'],
  method: 'GET',
  path: '/orders',
  expectedDecision: 'allow',
});

describe('nextPauseMs', () => {
  it('spreads the pause by ±jitter around the interval and subtracts the round time', () => {
    assert.equal(nextPauseMs(5_000, 0.1, 0, 0), 4_500);
    assert.equal(nextPauseMs(5_000, 0.1, 0, 0.5), 5_000);
    assert.equal(nextPauseMs(5_000, 0.1, 0, 0.9999999), 5_500);
    assert.equal(nextPauseMs(5_000, 0, 1_200, 0.3), 3_800);
    assert.equal(nextPauseMs(1_000, 0.2, 4_000, 0.7), 0);
  });
});

describe('RoundScheduler', () => {
  it('sends every probe of a round with at most `concurrency` in flight and numbers the rounds', async () => {
    let inFlight = 0;
    let widest = 0;
    const seen: ProbeObservation[] = [];
    const releases: (() => void)[] = [];
    const scheduler = new RoundScheduler({
      intervalMs: 1_000,
      jitter: 0,
      concurrency: 2,
      probes: () => ['a', 'b', 'c', 'd', 'e'].map(probe),
      send: async (sent, round) => {
        inFlight += 1;
        widest = Math.max(widest, inFlight);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight -= 1;
        return observation(`${sent.id}-${round}`, { probeId: sent.id, round });
      },
      observed: (made) => seen.push(made),
    });
    const first = scheduler.runRound();
    // Release probes one by one as they start, so the pool has to refill.
    while (seen.length < 5) {
      await new Promise((resolve) => setImmediate(resolve));
      releases.shift()?.();
    }
    assert.equal(await first, 1);
    assert.equal(widest, 2);
    assert.deepEqual(seen.map((made) => made.probeId).sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.ok(seen.every((made) => made.round === 1));

    const second = scheduler.runRound();
    while (seen.length < 10) {
      await new Promise((resolve) => setImmediate(resolve));
      releases.shift()?.();
    }
    assert.equal(await second, 2);
    assert.equal(scheduler.currentRound, 2);
  });

  it('keeps running rounds until stopped, reading the probe set anew each round', async () => {
    const rounds: number[] = [];
    let reads = 0;
    const scheduler = new RoundScheduler({
      intervalMs: 1,
      jitter: 0,
      concurrency: 4,
      probes: () => {
        reads += 1;
        return [probe('a')];
      },
      send: (sent, round) => Promise.resolve(observation(`${round}`, { round })),
      observed: (made) => rounds.push(made.round),
    });
    scheduler.start();
    while (rounds.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await scheduler.stop();
    const stoppedAt = scheduler.currentRound;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(scheduler.currentRound, stoppedAt);
    assert.deepEqual(rounds.slice(0, 3), [1, 2, 3]);
    assert.equal(reads, stoppedAt);
  });
});
