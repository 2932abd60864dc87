import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { create } from '@bufbuild/protobuf';
import { Decision, Severity, ValidateResponseSchema } from '@caracal-deploy/contracts';

import type { ResourceRow } from '../database/registry.repository.js';
import { catalogSha256, policySourceOf, verdictOf } from './policy-source.js';

const resource: ResourceRow = {
  id: '00000000-0000-4000-8000-000000000001',
  seq: '1',
  zone_id: '00000000-0000-4000-8000-000000000002',
  identifier: 'resource://api',
  catalog_id: 'resource-1',
  type: 'http',
  scopes: ['read'],
  operations: ['read'],
  created_by: 'tester',
  created_at: new Date(0),
};

describe('validator requests', () => {
  it('carry modules, canonical data, pack tests with decisions, and the catalog', () => {
    const source = policySourceOf(
      'prod',
      {
        modules: [{ path: 'a.rego', source: 'package caracal.authz\n' }],
        data: [{ path: 'caracal/grants/data.json', json: { b: 1, a: [true] } }],
        tests: [{ name: 't', input: { z: 1, a: 2 }, expected_decision: 'deny' }],
      },
      [resource],
    );
    assert.equal(source.zoneId, 'prod');
    assert.equal(new TextDecoder().decode(source.data?.[0]?.json), '{"a":[true],"b":1}');
    assert.equal(new TextDecoder().decode(source.tests?.[0]?.inputJson), '{"a":2,"z":1}');
    assert.equal(source.tests?.[0]?.expectedDecision, Decision.DENY);
    assert.deepEqual(source.catalog, [
      { identifier: 'resource://api', id: 'resource-1', scopes: ['read'], operations: ['read'] },
    ]);
  });

  it('hash the catalog so a verdict names the catalog it was judged against', () => {
    assert.notEqual(
      catalogSha256([resource]),
      catalogSha256([{ ...resource, scopes: ['read', 'write'] }]),
    );
    assert.equal(catalogSha256([resource]), catalogSha256([{ ...resource, created_by: 'other' }]));
  });
});

describe('verdicts', () => {
  it('pass findings through unchanged and never call valid what has an ERROR', () => {
    const response = create(ValidateResponseSchema, {
      valid: true,
      opaVersion: '1.22.3',
      findings: [
        {
          severity: Severity.ERROR,
          code: 'blocked_builtin',
          message: 'http.send is blocked',
          location: { file: 'a.rego', line: 7, column: 14 },
          details: { builtin: 'http.send' },
        },
        { severity: Severity.WARNING, code: 'non_canonical_term', message: 'whitelist' },
      ],
      tests: [
        { name: 't', kind: 'pack', passed: false, expected: Decision.ALLOW, actual: Decision.DENY },
      ],
    });
    const verdict = verdictOf(response, 'c'.repeat(64));
    assert.equal(verdict.valid, false);
    assert.deepEqual(verdict.findings[0], {
      severity: 'error',
      code: 'blocked_builtin',
      message: 'http.send is blocked',
      location: { file: 'a.rego', line: 7, column: 14 },
      details: { builtin: 'http.send' },
    });
    assert.equal(verdict.findings[1]?.severity, 'warning');
    assert.deepEqual(verdict.findings[1]?.location, { file: '', line: 0, column: 0 });
    assert.equal(verdict.tests[0]?.expected, 'allow');
    assert.equal(verdict.tests[0]?.actual, 'deny');
    assert.equal(verdict.opaVersion, '1.22.3');
  });

  it('are valid when only warnings were found', () => {
    const response = create(ValidateResponseSchema, {
      valid: true,
      findings: [{ severity: Severity.WARNING, code: 'non_canonical_term', message: 'x' }],
    });
    assert.equal(verdictOf(response, 'c'.repeat(64)).valid, true);
  });
});
