import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { classifyChange, effectiveDecision } from './index.js';

const allow = {
  decision: 'allow',
  evaluation_status: 'complete',
  determining_policies: [],
  diagnostics: [],
};
const deny = { ...allow, decision: 'deny' };

describe('effectiveDecision (fail closed)', () => {
  it('keeps a complete allow and a complete deny', () => {
    assert.deepEqual(effectiveDecision(allow), { decision: 'allow', erroring: false });
    assert.deepEqual(effectiveDecision(deny), { decision: 'deny', erroring: false });
  });

  it('reads a partial allow as a deny that is not an error', () => {
    const read = effectiveDecision({ ...allow, evaluation_status: 'partial' });
    assert.equal(read.decision, 'deny');
    assert.equal(read.erroring, false);
    assert.match(read.reason ?? '', /partial/);
  });

  it('reads errors, missing and malformed results as erroring denies', () => {
    for (const result of [
      { ...allow, evaluation_status: 'error' },
      undefined,
      null,
      [allow],
      { ...allow, decision: 'ALLOW' },
      { ...allow, evaluation_status: 'done' },
    ]) {
      const read = effectiveDecision(result);
      assert.equal(read.decision, 'deny', JSON.stringify(result));
      assert.equal(read.erroring, true, JSON.stringify(result));
    }
  });
});

describe('classifyChange', () => {
  const a = effectiveDecision(allow);
  const d = effectiveDecision(deny);
  const e = effectiveDecision(undefined);

  it('names each direction', () => {
    assert.equal(classifyChange(a, a), 'unchanged');
    assert.equal(classifyChange(d, d), 'unchanged');
    assert.equal(classifyChange(a, d), 'allow_to_deny');
    assert.equal(classifyChange(d, a), 'deny_to_allow');
  });

  it('puts a new error ahead of allow → deny, but not an error that was already there', () => {
    assert.equal(classifyChange(a, e), 'newly_erroring');
    assert.equal(classifyChange(d, e), 'newly_erroring');
    assert.equal(classifyChange(e, e), 'unchanged');
    assert.equal(classifyChange(e, a), 'deny_to_allow');
  });
});
