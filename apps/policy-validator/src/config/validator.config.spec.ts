import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadValidatorConfig } from './validator.config.js';

describe('loadValidatorConfig', () => {
  it('defaults to a dev signing key under .local and the documented term list', () => {
    const config = loadValidatorConfig({});
    assert.match(config.signing.keyFile, /\/\.local\/keys\/bundle-signing-es256\.pem$/);
    assert.equal(config.signing.keyId, 'caracal-deploy-dev');
    assert.equal(config.signing.autogenerate, true);
    assert.equal(config.deprecatedTerms.get('whitelist'), 'allowlist');
    assert.equal(config.deprecatedTerms.get('allowed'), 'decision');
  });

  it('reads a custom term list and rejects a malformed one by key', () => {
    const config = loadValidatorConfig({
      CARACAL_VALIDATOR_DEPRECATED_TERMS: 'master=primary, slave=replica',
    });
    assert.deepEqual(
      [...config.deprecatedTerms],
      [
        ['master', 'primary'],
        ['slave', 'replica'],
      ],
    );
    assert.throws(
      () => loadValidatorConfig({ CARACAL_VALIDATOR_DEPRECATED_TERMS: 'master' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems[0]?.key === 'CARACAL_VALIDATOR_DEPRECATED_TERMS',
    );
  });
});
