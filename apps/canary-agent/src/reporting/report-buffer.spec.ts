import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { observation } from '../rounds/test-observation.test-support.js';
import type { ProbeObservation } from '../rounds/probe-report.js';
import { ReportBuffer } from './report-buffer.js';

const ids = (reports: readonly ProbeObservation[]) => reports.map((report) => report.requestId);

describe('ReportBuffer', () => {
  it('keeps the newest reports up to the limit and hands each dropped one over, oldest first', () => {
    const dropped: string[] = [];
    const buffer = new ReportBuffer(3, (report) => dropped.push(report.requestId));
    buffer.push(observation('a'), observation('b'));
    buffer.push(observation('c'), observation('d'), observation('e'));
    assert.equal(buffer.size, 3);
    assert.equal(buffer.droppedTotal, 2);
    assert.deepEqual(dropped, ['a', 'b']);
    assert.deepEqual(ids(buffer.take(10)), ['c', 'd', 'e']);
    assert.equal(buffer.size, 0);
  });

  it('puts undelivered reports back in front, in order, still within the limit', () => {
    const dropped: string[] = [];
    const buffer = new ReportBuffer(4, (report) => dropped.push(report.requestId));
    buffer.push(observation('a'), observation('b'), observation('c'));
    const taken = buffer.take(2);
    buffer.push(observation('d'), observation('e'));
    buffer.requeue(taken);
    // a and b are the oldest: one of them goes when the limit is crossed.
    assert.deepEqual(dropped, ['a']);
    assert.deepEqual(ids(buffer.take(10)), ['b', 'c', 'd', 'e']);
  });

  it('refuses a limit below one', () => {
    assert.throws(() => new ReportBuffer(0), /positive integer/);
  });
});
