import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceExhaustedError, UnavailableError } from '@caracal-deploy/errors';

import type { AuditFacts } from '../audit/audit-event.js';
import { ProbeJoin, type ProbeJoinOptions } from './probe-join.js';

function audit(requestId: string): AuditFacts {
  return {
    eventId: `decision-${requestId}`,
    requestId,
    zoneId: 'zone-1',
    decision: 'allow',
    revision: 'a'.repeat(64),
    policySetVersionId: '',
    determiningPolicies: 1,
  };
}

function joinWith(overrides: Partial<ProbeJoinOptions> = {}) {
  let now = 1_000;
  const join = new ProbeJoin({
    deadlineMs: 50,
    auditRetentionMs: 10_000,
    maxAuditEvents: 100,
    maxWaitingReports: 100,
    now: () => now,
    ...overrides,
  });
  return { join, advance: (ms: number) => (now += ms) };
}

describe('probe join', () => {
  it('joins a report to an event that arrived before it', async () => {
    const { join } = joinWith();
    join.offer(audit('r1'));
    assert.equal((await join.join('r1'))?.eventId, 'decision-r1');
    assert.equal(join.bufferedEvents, 0, 'a claimed event is released');
  });

  it('joins a report to an event that arrives after it', async () => {
    const { join } = joinWith({ deadlineMs: 60_000 });
    const joined = join.join('r2');
    assert.equal(join.waitingReports, 1);
    join.offer(audit('r2'));
    assert.equal((await joined)?.eventId, 'decision-r2');
    assert.equal(join.waitingReports, 0);
  });

  it('resolves without an event once the deadline passes', async () => {
    const { join } = joinWith({ deadlineMs: 5 });
    assert.equal(await join.join('never'), undefined);
    assert.equal(join.waitingReports, 0);
  });

  it('lets two reports with one request id share the wait', async () => {
    const { join } = joinWith({ deadlineMs: 60_000 });
    const first = join.join('dup');
    const second = join.join('dup');
    join.offer(audit('dup'));
    assert.deepEqual(
      (await Promise.all([first, second])).map((a) => a?.eventId),
      ['decision-dup', 'decision-dup'],
    );
  });

  it('bounds unclaimed events by count (oldest first) and by age', async () => {
    const { join, advance } = joinWith({ maxAuditEvents: 2, auditRetentionMs: 100 });
    join.offer(audit('e1'));
    join.offer(audit('e2'));
    join.offer(audit('e3'));
    assert.equal(join.bufferedEvents, 2);
    assert.equal(await join.join('e1'), undefined, 'the oldest was dropped');
    advance(101);
    assert.equal(await join.join('e3'), undefined, 'an event past its retention is gone');
    assert.equal(join.bufferedEvents, 0);
  });

  it('refuses reports past the waiting bound', () => {
    const { join } = joinWith({ maxWaitingReports: 1, deadlineMs: 60_000 });
    const waiting = join.join('w1');
    assert.throws(() => join.join('w2'), ResourceExhaustedError);
    join.close();
    return assert.rejects(waiting, UnavailableError);
  });

  it('fails waiting reports at shutdown instead of calling their audit missing', async () => {
    const { join } = joinWith({ deadlineMs: 60_000 });
    const waiting = join.join('w');
    join.close();
    await assert.rejects(waiting, UnavailableError);
  });
});
