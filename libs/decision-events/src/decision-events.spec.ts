import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseDecisionLogRecord } from '@caracal-deploy/simulation';

import {
  auditEvent,
  decisionLogJson,
  decisionLogRecord,
  maskInput,
  type DecisionFacts,
} from './index.js';

const contracts = new URL('../../../../shared/contracts/caracal/', import.meta.url);
const read = (path: string) =>
  JSON.parse(readFileSync(new URL(path, contracts), 'utf8')) as Record<string, unknown>;

const facts: DecisionFacts = {
  decisionId: 'audit-1',
  requestId: 'req-1',
  zoneId: 'zone-1',
  eventType: 'token.exchange',
  decision: 'allow',
  evaluationStatus: 'complete',
  revision: '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7',
  policySetId: 'policy-set-1',
  policySetVersionId: 'policy-set-version-1',
  input: read('fixtures/policy-input.sts.valid.json'),
  result: read('fixtures/policy-result.allow.valid.json'),
  occurredAt: new Date('2026-05-21T12:00:00Z'),
  metadata: { resource: 'resource://api', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
};

describe('decision events', () => {
  it('builds audit events valid against caracal-audit-event-2026-05-21, like the fixture', () => {
    const validate = new Ajv2020({ allErrors: true, validateFormats: false }).compile(
      read('schemas/caracal-audit-event-2026-05-21.schema.json'),
    );
    const event = auditEvent(facts);
    assert.ok(validate(event), JSON.stringify(validate.errors));
    const fixture = read('fixtures/audit-event.allow.valid.json');
    for (const key of [
      'id',
      'zone_id',
      'event_type',
      'request_id',
      'decision',
      'manifest_sha',
      'evaluation_status',
      'metadata_json',
    ]) {
      assert.deepEqual(event[key], fixture[key], key);
    }
    assert.deepEqual(event['determining_policies_json'], [
      { id: 'baseline-resource-scope', version: '2026-05-20' },
    ]);
  });

  it('writes decision logs that the replay parser reads back', () => {
    const parsed = parseDecisionLogRecord(JSON.parse(JSON.stringify(decisionLogRecord(facts))));
    assert.ok(parsed.ok);
    assert.equal(parsed.record.revision, facts.revision);
    assert.deepEqual(parsed.record.input, facts.input);
    const withoutBundle = parseDecisionLogRecord(
      JSON.parse(
        JSON.stringify(decisionLogRecord({ ...facts, revision: null, result: undefined })),
      ),
    );
    assert.ok(withoutBundle.ok);
    assert.equal(withoutBundle.record.revision, 'none');
  });

  it('masks configured fields in decision logs only, leaving the original untouched', () => {
    const record = decisionLogRecord(facts, [
      'context.subject_claims.sub',
      'context.no_such.field',
    ]);
    const context = (record['input'] as { context: { subject_claims: { sub: string } } }).context;
    assert.equal(context.subject_claims.sub, '[masked]');
    assert.equal(
      (facts.input['context'] as { subject_claims: { sub: string } }).subject_claims.sub,
      'user-1',
    );
    assert.deepEqual(maskInput({ a: 1 }, []), { a: 1 });
  });

  it('splices the texts a decision carries into its decision log, the same record either way', () => {
    const plain = JSON.stringify(decisionLogRecord(facts));
    const carried = {
      ...facts,
      inputJson: JSON.stringify(facts.input),
      resultJson: JSON.stringify(facts.result),
    };
    assert.equal(decisionLogJson(facts), plain);
    assert.equal(decisionLogJson(carried), plain);
    // Spliced text is taken as it is: OPA's own spelling of the same values reads back equal.
    const spaced = { ...carried, resultJson: JSON.stringify(facts.result, null, 1) };
    assert.deepEqual(JSON.parse(decisionLogJson(spaced)), JSON.parse(plain));
    const noResult = { ...carried, result: undefined, resultJson: undefined, revision: null };
    assert.equal(
      decisionLogJson(noResult),
      JSON.stringify(decisionLogRecord({ ...facts, result: undefined, revision: null })),
    );
    // Masking needs the object: the carried input text is not used then.
    const masked = JSON.parse(decisionLogJson(carried, ['context.subject_claims.sub'])) as {
      input: { context: { subject_claims: { sub: string } } };
    };
    assert.equal(masked.input.context.subject_claims.sub, '[masked]');
  });
});
