import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { parseInput } from '../http/request-validation.js';
import { uploadPackBody } from '../http/api.schemas.js';
import { sharedFixture, sharedFixtureText } from '../test-support/shared-fixtures.js';
import type { PackManifest } from './pack-manifest.schema.js';
import { packContent } from './policy-pack.js';

const manifest = sharedFixture<PackManifest>('policy-pack-manifest.valid.json');
const input = sharedFixtureText('policy-input.sts.valid.json');

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    return error.violations.map((violation) => violation.field);
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('policy packs', () => {
  it('turns the shared fixture pack into modules, data and pack tests', () => {
    const content = packContent(manifest, {
      'policies/baseline.rego': 'package caracal.authz\n',
      'policy-input.sts.valid.json': input,
      'caracal/grants/data.json': '{"grants": []}',
    });
    assert.deepEqual(content.modules, [
      { path: 'policies/baseline.rego', source: 'package caracal.authz\n' },
    ]);
    assert.deepEqual(content.data, [{ path: 'caracal/grants/data.json', json: { grants: [] } }]);
    assert.equal(content.tests[0]?.name, 'allows scoped read');
    assert.equal(content.tests[0]?.expected_decision, 'allow');
    assert.deepEqual(content.tests[0]?.input, JSON.parse(input));
    assert.equal(content.pack.id, 'baseline-resource-scope');
  });

  it('names each missing module and fixture file', () => {
    assert.deepEqual(
      fieldsOf(() => packContent(manifest, {})),
      ['files["policies/baseline.rego"]', 'files["policy-input.sts.valid.json"]'],
    );
  });

  it('refuses fixtures that are not JSON objects and files nothing refers to', () => {
    assert.deepEqual(
      fieldsOf(() =>
        packContent(manifest, {
          'policies/baseline.rego': 'package caracal.authz\n',
          'policy-input.sts.valid.json': '[1]',
          'notes.txt': 'hello',
        }),
      ),
      ['files["policy-input.sts.valid.json"]', 'files["notes.txt"]'],
    );
  });

  it('checks the manifest against the vendored pack-manifest schema, naming fields', () => {
    const { entrypoint: _gone, ...withoutEntrypoint } = manifest;
    const fields = fieldsOf(() =>
      parseInput(
        uploadPackBody,
        { manifest: { ...withoutEntrypoint, schema_version: '2025-01-01' }, files: {} },
        'body',
      ),
    );
    assert.deepEqual(fields.sort(), ['manifest.entrypoint', 'manifest.schema_version']);
  });
});
