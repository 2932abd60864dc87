import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CanaryResult } from '@caracal-deploy/contracts';

import { parseAuditEvent } from '../audit/audit-event.js';
import { assessProbe, resultName, resultOfName, type ProbeFacts } from './probe-assessment.js';

const revision = 'a'.repeat(64);
const oldRevision = 'b'.repeat(64);
const target = { revision, policySetVersionId: 'psv-2' };

function probe(overrides: Partial<ProbeFacts> = {}): ProbeFacts {
  return {
    requestId: 'req-1',
    agentId: 'agent-eu',
    region: 'eu',
    zoneId: 'zone-1',
    probeId: 'read-allowed',
    round: '1',
    expectedDecision: 'allow',
    httpStatus: 200,
    observedDecision: 'allow',
    observedRevision: revision,
    transportError: '',
    sentAtMs: 1,
    audit: {
      eventId: 'decision-1',
      requestId: 'req-1',
      zoneId: 'zone-1',
      decision: 'allow',
      revision,
      policySetVersionId: 'psv-2',
      determiningPolicies: 1,
    },
    ...overrides,
  };
}

describe('probe classification', () => {
  it('is a match when the gateway and the audit event agree with the target', () => {
    const assessment = assessProbe(probe(), target);
    assert.equal(assessment.result, CanaryResult.MATCH);
    assert.equal(assessment.gateway, 'ok');
    assert.equal(assessment.audit, 'ok');
  });

  it('is an error when the probe got no answer, whatever else it says', () => {
    const assessment = assessProbe(
      probe({ transportError: 'connect ECONNREFUSED', observedDecision: 'deny' }),
      target,
    );
    assert.equal(assessment.result, CanaryResult.ERROR);
    assert.match(assessment.detail, /ECONNREFUSED/);
  });

  it('is an error when the gateway answered without a decision', () => {
    const assessment = assessProbe(probe({ httpStatus: 502, observedDecision: '' }), target);
    assert.equal(assessment.result, CanaryResult.ERROR);
    assert.match(assessment.detail, /HTTP 502/);
  });

  it('is a decision mismatch when the gateway applied another decision, before any audit check', () => {
    const assessment = assessProbe(probe({ observedDecision: 'deny', audit: undefined }), target);
    assert.equal(assessment.result, CanaryResult.DECISION_MISMATCH);
    assert.equal(assessment.detail, 'gateway decision deny, expected allow');
  });

  it('is a revision mismatch when the gateway decided with another revision', () => {
    const assessment = assessProbe(probe({ observedRevision: oldRevision }), target);
    assert.equal(assessment.result, CanaryResult.REVISION_MISMATCH);
    assert.match(assessment.detail, new RegExp(`gateway revision ${oldRevision}`));
  });

  it('is audit missing when no event was joined', () => {
    const assessment = assessProbe(probe({ audit: undefined }), target);
    assert.equal(assessment.result, CanaryResult.AUDIT_MISSING);
    assert.equal(assessment.audit, 'missing');
  });

  it('is an audit mismatch for another decision, revision, version or no determining policy', () => {
    const base = probe().audit!;
    const cases: [Partial<typeof base>, RegExp][] = [
      [{ decision: 'deny' }, /audit decision deny, expected allow/],
      [{ revision: oldRevision }, /audit revision b+, expected a+/],
      [{ policySetVersionId: 'psv-1' }, /audit policy-set version psv-1, expected psv-2/],
      [{ determiningPolicies: 0 }, /no determining policy/],
      [{ zoneId: 'zone-9' }, /audit zone zone-9/],
    ];
    for (const [change, detail] of cases) {
      const assessment = assessProbe(probe({ audit: { ...base, ...change } }), target);
      assert.equal(assessment.result, CanaryResult.AUDIT_MISMATCH, JSON.stringify(change));
      assert.match(assessment.detail, detail);
    }
  });

  it('without a target compares the audit revision with the one the gateway reported', () => {
    const noTarget = { revision: undefined, policySetVersionId: undefined };
    assert.equal(
      assessProbe(probe({ observedRevision: oldRevision }), noTarget).result,
      CanaryResult.AUDIT_MISMATCH,
    );
    assert.equal(assessProbe(probe(), noTarget).result, CanaryResult.MATCH);
  });

  it('names results as stored and reads them back', () => {
    assert.equal(resultName(CanaryResult.AUDIT_MISSING), 'audit_missing');
    assert.equal(resultOfName('decision_mismatch'), CanaryResult.DECISION_MISMATCH);
    assert.equal(resultOfName('nonsense'), CanaryResult.UNSPECIFIED);
  });
});

describe('audit event parsing', () => {
  it('reads the join facts of a caracal-audit-event-2026-05-21 record', () => {
    const facts = parseAuditEvent(
      JSON.stringify({
        id: 'audit-1',
        zone_id: 'zone-1',
        event_type: 'gateway.decide',
        request_id: 'req-1',
        decision: 'allow',
        policy_set_version_id: 'policy-set-version-1',
        manifest_sha: `sha256:${revision.toUpperCase()}`,
        evaluation_status: 'complete',
        determining_policies_json: [{ id: 'baseline-resource-scope' }],
        diagnostics_json: [],
        occurred_at: '2026-05-21T12:00:00Z',
      }),
    );
    assert.deepEqual(facts, {
      eventId: 'audit-1',
      requestId: 'req-1',
      zoneId: 'zone-1',
      decision: 'allow',
      revision,
      policySetVersionId: 'policy-set-version-1',
      determiningPolicies: 1,
    });
  });

  it('skips records a probe cannot be joined to', () => {
    assert.equal(parseAuditEvent(null), undefined);
    assert.equal(parseAuditEvent('not json'), undefined);
    assert.equal(parseAuditEvent('[1,2]'), undefined);
    assert.equal(parseAuditEvent(JSON.stringify({ id: 'x', decision: 'allow' })), undefined);
  });
});

describe('audit event fixture', () => {
  it('reads the shared caracal-audit-event-2026-05-21 fixture', () => {
    const fixture = readFileSync(
      new URL(
        '../../../../../shared/contracts/caracal/fixtures/audit-event.allow.valid.json',
        import.meta.url,
      ),
    );
    const facts = parseAuditEvent(fixture);
    assert.equal(facts?.requestId, 'req-1');
    assert.equal(facts?.decision, 'allow');
    assert.equal(
      facts?.revision,
      '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7',
    );
    assert.equal(facts?.policySetVersionId, 'policy-set-version-1');
    assert.equal(facts?.determiningPolicies, 1);
  });
});
