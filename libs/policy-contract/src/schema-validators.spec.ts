import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import {
  caracalSchemaFiles,
  validatePackManifest,
  validatePolicyInput,
  validatePolicyResult,
} from './index.js';

// dist/ (and src/) sit three levels below the repository root; the shared
// contracts are a sibling of the repository.
const contracts = new URL('../../../../shared/contracts/caracal/', import.meta.url);

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}`, contracts), 'utf8')) as Record<
    string,
    unknown
  >;
}

describe('vendored Caracal schemas', () => {
  it('are byte-identical to the shared contracts', () => {
    for (const file of Object.values(caracalSchemaFiles)) {
      assert.equal(
        readFileSync(new URL(`../schemas/${file}`, import.meta.url), 'utf8'),
        readFileSync(new URL(`schemas/${file}`, contracts), 'utf8'),
        file,
      );
    }
  });
});

describe('validatePolicyInput', () => {
  it('accepts the STS fixture', () => {
    assert.deepEqual(validatePolicyInput(fixture('policy-input.sts.valid.json')), {
      valid: true,
      errors: [],
    });
  });

  it('names a missing field, a wrong const and a non-string scope by JSON pointer', () => {
    const input = fixture('policy-input.sts.valid.json');
    delete input['action'];
    input['schema_version'] = '2025-01-01';
    (input['context'] as { requested_scopes: unknown[] }).requested_scopes = ['read', 7];
    const result = validatePolicyInput(input);
    assert.equal(result.valid, false);
    assert.deepEqual(result.errors.map((error) => error.path).sort(), [
      '/action',
      '/context/requested_scopes/1',
      '/schema_version',
    ]);
    const constError = result.errors.find((error) => error.path === '/schema_version');
    assert.match(constError?.message ?? '', /constant.*"2026-05-20"/);
    assert.equal(constError?.schemaPath, '#/properties/schema_version/const');
  });

  it('rejects a non-object', () => {
    const result = validatePolicyInput('allow');
    assert.equal(result.valid, false);
    assert.equal(result.errors[0]?.path, '');
  });
});

describe('validatePolicyResult', () => {
  it('accepts the allow fixture', () => {
    assert.equal(validatePolicyResult(fixture('policy-result.allow.valid.json')).valid, true);
  });

  it('names a bad decision with the allowed values and a missing diagnostics array', () => {
    const result = fixture('policy-result.allow.valid.json');
    result['decision'] = 'permit';
    delete result['diagnostics'];
    const validation = validatePolicyResult(result);
    assert.equal(validation.valid, false);
    assert.deepEqual(
      validation.errors.map(({ path, schemaPath }) => ({ path, schemaPath })),
      [
        { path: '/diagnostics', schemaPath: '#/required' },
        { path: '/decision', schemaPath: '#/properties/decision/enum' },
      ],
    );
    assert.match(validation.errors[1]?.message ?? '', /\["allow","deny"\]/);
  });
});

describe('validatePackManifest', () => {
  it('accepts the pack manifest fixture', () => {
    assert.equal(validatePackManifest(fixture('policy-pack-manifest.valid.json')).valid, true);
  });

  it('rejects an unknown property, an empty test list and a wrong entrypoint', () => {
    const manifest = fixture('policy-pack-manifest.valid.json');
    manifest['extra'] = true;
    manifest['tests'] = [];
    manifest['entrypoint'] = 'data.other.result';
    const validation = validatePackManifest(manifest);
    assert.equal(validation.valid, false);
    assert.deepEqual(validation.errors.map((error) => error.path).sort(), [
      '/entrypoint',
      '/extra',
      '/tests',
    ]);
  });
});
