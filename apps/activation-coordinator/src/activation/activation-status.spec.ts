import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ActivationState, ActivationTrigger } from '@caracal-deploy/contracts';
import type { ReplicaStatus } from '@caracal-deploy/redis';

import { judgeActivation, storedTrigger, wireTrigger } from './activation-status.js';
import type { ActivationWithOutbox } from './activation.repository.js';

const committed = new Date('2026-11-30T10:00:00.000Z');
const at = (ms: number) => new Date(committed.getTime() + ms);
const target = 'a'.repeat(64);
const options = { replicaLiveMs: 30_000, stallAfterMs: 10_000 };

const row = (overrides: Partial<ActivationWithOutbox> = {}): ActivationWithOutbox => ({
  id: '11111111-1111-4111-8111-111111111111',
  seq: '7',
  zone_id: 'zone-eu',
  policy_set_id: '22222222-2222-4222-8222-222222222222',
  policy_set_version_id: '33333333-3333-4333-8333-333333333333',
  manifest_sha256: target,
  bundle_sha256: 'b'.repeat(64),
  previous_policy_set_version_id: null,
  actor: 'alice',
  reason: 'ship it',
  trigger: 'rollback_alert',
  idempotency_key: 'k-1',
  outbox_id: '5',
  created_at: committed,
  outcome: null,
  propagation_ms: null,
  finished_at: null,
  outbox_attempts: 1,
  outbox_published_at: at(5),
  outbox_dead_at: null,
  outbox_last_error: null,
  ...overrides,
});

const replica = (
  id: string,
  revision: string | null,
  confirmedMs: number | null,
): ReplicaStatus => ({
  zoneId: 'zone-eu',
  replicaId: id,
  region: id.split('-')[1] ?? 'x',
  revision,
  loadedAt: null,
  confirmedAt: confirmedMs === null ? null : at(confirmedMs),
  reportedAt: at(Math.max(confirmedMs ?? 0, 0)),
});

describe('judgeActivation', () => {
  it('is dispatching until the outbox publishes, then converging while a replica lags', () => {
    const reports = [replica('sts-eu-1', target, 40), replica('sts-us-1', 'c'.repeat(64), -500)];
    const pending = judgeActivation(
      row({ outbox_published_at: null, outbox_attempts: 2, outbox_last_error: 'ECONNREFUSED' }),
      reports,
      at(100),
      options,
    );
    assert.equal(pending.state, ActivationState.DISPATCHING);
    assert.equal(pending.status.outbox?.state, 'pending');
    assert.equal(pending.status.outbox?.lastError, 'ECONNREFUSED');
    const published = judgeActivation(row(), reports, at(100), options);
    assert.equal(published.state, ActivationState.CONVERGING);
    assert.equal(published.terminal, false);
    assert.deepEqual(published.status.laggards, ['sts-us-1']);
  });

  it('converges with every live replica serving, reporting the slowest as propagation', () => {
    const judged = judgeActivation(
      row(),
      [replica('sts-eu-1', target, 40), replica('sts-us-1', target, 120)],
      at(200),
      options,
    );
    assert.equal(judged.state, ActivationState.CONVERGED);
    assert.equal(judged.newlyConverged, true);
    assert.equal(judged.propagationMs, 120);
    assert.equal(judged.status.propagationMillis, 120n);
    assert.deepEqual(
      judged.status.replicas?.map((r) => [r.replicaId, r.lagMillis, r.confirmedAtUnixMillis]),
      [
        ['sts-eu-1', 40n, BigInt(at(40).getTime())],
        ['sts-us-1', 120n, BigInt(at(120).getTime())],
      ],
    );
    assert.equal(judged.status.activation?.trigger, ActivationTrigger.ROLLBACK_ALERT);
  });

  it('keeps a recorded outcome, and stalls or dead-letters otherwise', () => {
    const recorded = judgeActivation(
      row({ outcome: 'converged', propagation_ms: 90 }),
      [],
      at(60_000),
      options,
    );
    assert.equal(recorded.state, ActivationState.CONVERGED);
    assert.equal(recorded.newlyConverged, false);
    assert.equal(recorded.propagationMs, 90);
    assert.equal(
      judgeActivation(row({ outcome: 'superseded' }), [], at(50), options).state,
      ActivationState.SUPERSEDED,
    );
    const stalled = judgeActivation(row(), [replica('sts-eu-1', null, null)], at(11_000), options);
    assert.equal(stalled.state, ActivationState.STALLED);
    assert.deepEqual(stalled.status.laggards, ['sts-eu-1']);
    const dead = judgeActivation(
      row({ outbox_published_at: null, outbox_dead_at: at(900), outbox_attempts: 8 }),
      [],
      at(1_000),
      options,
    );
    assert.equal(dead.state, ActivationState.DEAD_LETTERED);
    assert.equal(dead.terminal, true);
  });

  it('never stalls on replica data it could not read', () => {
    const judged = judgeActivation(row(), null, at(60_000), options);
    assert.equal(judged.state, ActivationState.CONVERGING);
    assert.equal(judged.terminal, false);
  });
});

describe('triggers', () => {
  it('round-trips every trigger and reads unspecified as manual', () => {
    for (const trigger of [
      ActivationTrigger.MANUAL,
      ActivationTrigger.DEPLOYMENT,
      ActivationTrigger.ROLLBACK_MANUAL,
      ActivationTrigger.ROLLBACK_ALERT,
      ActivationTrigger.ROLLBACK_VERDICT,
    ])
      assert.equal(wireTrigger(storedTrigger(trigger)!), trigger);
    assert.equal(storedTrigger(ActivationTrigger.UNSPECIFIED), 'manual');
    assert.equal(storedTrigger(99 as ActivationTrigger), undefined);
  });
});
