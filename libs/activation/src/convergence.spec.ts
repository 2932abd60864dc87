import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { convergence, retryDelayMs, type ReplicaReport } from './index.js';

const committedAt = new Date('2026-11-28T03:00:00.000Z');
const at = (ms: number) => new Date(committedAt.getTime() + ms);
const input = (nowMs: number) => ({
  target: 'r2',
  committedAt,
  now: at(nowMs),
  liveWithinMs: 30_000,
  stallAfterMs: 10_000,
});
const report = (
  replicaId: string,
  region: string,
  revision: string | null,
  confirmedMs: number | null,
  reportedMs = 0,
): ReplicaReport => ({
  replicaId,
  region,
  revision,
  confirmedAt: confirmedMs === null ? null : at(confirmedMs),
  reportedAt: at(reportedMs),
});

describe('convergence', () => {
  it('converges when every live replica serves the target, with the propagation time of the last', () => {
    const result = convergence(
      [
        report('eu-1', 'eu', 'r2', 120),
        report('eu-2', 'eu', 'r2', 340),
        report('us-1', 'us', 'r2', 200),
      ],
      input(500),
    );
    assert.equal(result.state, 'converged');
    assert.equal(result.propagationMs, 340);
    assert.deepEqual(
      result.replicas.map((r) => [r.replicaId, r.confirmedAt?.toISOString(), r.lagMs]),
      [
        ['eu-1', at(120).toISOString(), 120],
        ['eu-2', at(340).toISOString(), 340],
        ['us-1', at(200).toISOString(), 200],
      ],
    );
    assert.deepEqual(result.regions, { eu: { live: 2, serving: 2 }, us: { live: 1, serving: 1 } });
    assert.deepEqual(result.laggards, []);
  });

  it('keeps converging while a replica lags, then stalls naming it', () => {
    const reports = [report('eu-1', 'eu', 'r2', 120), report('us-1', 'us', 'r1', -5_000, 1_000)];
    const early = convergence(reports, input(2_000));
    assert.equal(early.state, 'converging');
    assert.deepEqual(early.laggards, ['us-1']);
    assert.equal(early.propagationMs, null);
    const late = convergence(reports, input(11_000));
    assert.equal(late.state, 'stalled');
    assert.deepEqual(late.laggards, ['us-1']);
  });

  it('does not count a confirmation from before the commit', () => {
    // Same revision string, but confirmed before this activation: it proves nothing about this one.
    const result = convergence([report('eu-1', 'eu', 'r2', -1)], input(100));
    assert.equal(result.state, 'converging');
  });

  it('ignores replicas whose heartbeat lapsed, but never converges with none', () => {
    const gone = report('eu-9', 'eu', 'r1', -60_000, -40_000);
    assert.equal(
      convergence([report('eu-1', 'eu', 'r2', 50), gone], input(100)).state,
      'converged',
    );
    assert.equal(convergence([gone], input(100)).state, 'no_replicas');
    assert.equal(convergence([], input(20_000)).state, 'stalled');
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially to the cap, with full jitter', () => {
    assert.deepEqual(
      [1, 2, 3, 10].map((attempt) => retryDelayMs(attempt, 100, 1_000, () => 1)),
      [100, 200, 400, 1_000],
    );
    assert.equal(
      retryDelayMs(5, 100, 1_000, () => 0),
      0,
    );
  });
});
