import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { readPolicySource, type PolicySourceInput } from './policy-source.js';

const valid: PolicySourceInput = {
  modules: [{ path: 'policies/authz.rego', source: 'package caracal.authz\n' }],
  data: [{ path: 'caracal/grants/data.json', json: '[]' }],
  tests: [{ name: 't', inputJson: '{}', expectedDecision: 'allow' }],
  catalog: [{ identifier: 'resource://api', id: 'r', scopes: [] }],
};

function violations(input: Partial<PolicySourceInput>): string[] {
  try {
    readPolicySource({ ...valid, ...input });
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError);
    return error.violations.map((v) => `${v.field}: ${v.problem}`);
  }
  return [];
}

describe('readPolicySource', () => {
  it('reads a valid source and mounts data at its directory', () => {
    const { source, findings } = readPolicySource(valid);
    assert.deepEqual(findings, []);
    assert.deepEqual(source.data[0]?.mount, ['caracal', 'grants']);
    assert.equal(source.modules[0]?.isTest, false);
  });

  it('names each bad path by field', () => {
    const problems = violations({
      modules: [
        { path: '../x.rego', source: '' },
        { path: '/abs.rego', source: '' },
        { path: 'a.txt', source: '' },
        { path: 'ok.rego', source: '' },
        { path: 'ok.rego', source: '' },
        { path: '.hidden/x.rego', source: '' },
      ],
      data: [{ path: 'caracal/grants.json', json: '{}' }],
    });
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      [
        'source.modules[0].path',
        'source.modules[1].path',
        'source.modules[2].path',
        'source.modules[4].path',
        'source.modules[5].path',
        'source.data[0].path',
      ],
    );
    assert.match(problems[0] ?? '', /"\.\."/);
    assert.match(problems[3] ?? '', /duplicate path "ok\.rego"/);
  });

  it('rejects an unspecified expected decision, no modules and a bad catalog identifier', () => {
    assert.deepEqual(
      violations({
        modules: [],
        tests: [{ name: 't', inputJson: '{}', expectedDecision: undefined }],
        catalog: [{ identifier: 'api', id: 'r', scopes: [] }],
      }).map((p) => p.split(':')[0]),
      ['source.modules', 'source.tests[0].expected_decision', 'source.catalog[0].identifier'],
    );
  });

  it('turns a data document that is not JSON into a finding with line and column', () => {
    const { findings, source } = readPolicySource({
      ...valid,
      data: [{ path: 'caracal/data.json', json: '{\n  "a": 1,\n  oops\n}' }],
    });
    assert.equal(source.data.length, 0);
    assert.deepEqual(
      findings.map((f) => [f.code, f.location?.file, f.location?.line, f.location?.column]),
      [['invalid_data_json', 'caracal/data.json', 3, 3]],
    );
  });
});
