import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { effectiveDecision, runPackTests } from './pack-tests.js';

const complete = {
  decision: 'allow',
  evaluation_status: 'complete',
  determining_policies: [],
  diagnostics: [],
};

describe('pack tests', () => {
  it('fails closed: only a complete, schema-valid allow is an allow', () => {
    assert.equal(effectiveDecision(complete), 'allow');
    assert.equal(effectiveDecision({ ...complete, evaluation_status: 'partial' }), 'deny');
    assert.equal(effectiveDecision({ ...complete, evaluation_status: 'error' }), 'deny');
    assert.equal(effectiveDecision({ decision: 'allow', evaluation_status: 'complete' }), 'deny');
    assert.equal(effectiveDecision(undefined), 'deny');
  });

  it('reports an undefined result as schema-invalid and a deny', () => {
    const policy = { entrypoints: ['caracal/authz/result'], evaluate: () => undefined };
    const input = JSON.stringify({
      schema_version: '2026-05-20',
      principal: { type: 'a', id: 'b', zone_id: 'z' },
      resource: { type: 'http', id: 'r', identifier: 'resource://api', scopes: [] },
      action: { id: 'read' },
      context: { actor_claims: {}, challenge_resolved: false, requested_scopes: [] },
    });
    const { findings, results } = runPackTests(policy, [
      { name: 'must allow', inputJson: input, expected: 'allow' },
    ]);
    assert.deepEqual(
      findings.map((f) => f.code),
      ['result_schema_invalid', 'pack_test_failed'],
    );
    assert.deepEqual(
      results.map((r) => [r.passed, r.expected, r.actual]),
      [[false, 'allow', 'deny']],
    );
    assert.match(findings[1]?.message ?? '', /result is undefined/);
  });
});
