import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CanaryResult } from '@caracal-deploy/contracts';

import type { CheckResult } from '../metrics/canary-metrics.js';
import { observation } from '../rounds/test-observation.test-support.js';
import { ClassificationLedger } from './classification-ledger.js';

describe('ClassificationLedger', () => {
  it('counts each answered probe once, when the aggregator classifies it', () => {
    const counted: CheckResult[] = [];
    const ledger = new ClassificationLedger(10, (result) => counted.push(result));
    ledger.recorded(observation('r1'));
    ledger.recorded(observation('r2'));
    assert.deepEqual(counted, []);
    assert.equal(ledger.classified('r1', CanaryResult.MATCH), 'counted');
    assert.equal(ledger.classified('r2', CanaryResult.DECISION_MISMATCH), 'counted');
    // A report re-sent after a reconnect may be classified again: not counted twice.
    assert.equal(ledger.classified('r1', CanaryResult.MATCH), 'unknown');
    assert.deepEqual(counted, ['match', 'decision_mismatch']);
    assert.equal(ledger.awaitingCount, 0);
  });

  it('counts a probe without an answer as error at once, and not again when classified', () => {
    const counted: CheckResult[] = [];
    const ledger = new ClassificationLedger(10, (result) => counted.push(result));
    ledger.recorded(observation('r1', { httpStatus: 0, transportError: 'connection refused' }));
    assert.deepEqual(counted, ['error']);
    assert.equal(ledger.classified('r1', CanaryResult.ERROR), 'unknown');
    assert.deepEqual(counted, ['error']);
  });

  it('maps every result to its label and ignores UNSPECIFIED', () => {
    const counted: CheckResult[] = [];
    const ledger = new ClassificationLedger(10, (result) => counted.push(result));
    const results = [
      CanaryResult.MATCH,
      CanaryResult.DECISION_MISMATCH,
      CanaryResult.REVISION_MISMATCH,
      CanaryResult.AUDIT_MISSING,
      CanaryResult.AUDIT_MISMATCH,
      CanaryResult.ERROR,
    ];
    results.forEach((_, index) => ledger.recorded(observation(`r${index}`)));
    ledger.recorded(observation('unspecified'));
    assert.equal(ledger.classified('unspecified', CanaryResult.UNSPECIFIED), 'unspecified');
    results.forEach((result, index) => ledger.classified(`r${index}`, result));
    assert.deepEqual(counted, [
      'match',
      'decision_mismatch',
      'revision_mismatch',
      'audit_missing',
      'audit_mismatch',
      'error',
    ]);
  });

  it('forgets dropped reports and the oldest past its bound', () => {
    const counted: CheckResult[] = [];
    const ledger = new ClassificationLedger(2, (result) => counted.push(result));
    ledger.recorded(observation('a'));
    ledger.recorded(observation('b'));
    ledger.recorded(observation('c'));
    ledger.forget(observation('c'));
    assert.equal(ledger.classified('a', CanaryResult.MATCH), 'unknown');
    assert.equal(ledger.classified('c', CanaryResult.MATCH), 'unknown');
    assert.equal(ledger.classified('b', CanaryResult.MATCH), 'counted');
    assert.deepEqual(counted, ['match']);
  });
});
