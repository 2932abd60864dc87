import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@caracal-deploy/config';

import { loadVerifierConfig } from './verifier.config.js';

describe('verification-aggregator config', () => {
  it('has working defaults', () => {
    const config = loadVerifierConfig({});
    assert.equal(config.grpcAddress, '127.0.0.1:50073');
    assert.equal(config.metricsPort, 9473);
    assert.equal(config.coordinatorAddress, '127.0.0.1:50071');
    assert.deepEqual(config.kafkaBrokers, ['127.0.0.1:19092']);
    assert.equal(config.auditTopic, 'caracal.audit.events');
    assert.match(config.postgresUrl, /\/caracal_verification$/);
  });

  it('names the bad key', () => {
    assert.throws(
      () => loadVerifierConfig({ CARACAL_VERIFIER_AUDIT_JOIN_DEADLINE_MS: '-1' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => p.key === 'CARACAL_VERIFIER_AUDIT_JOIN_DEADLINE_MS'),
    );
  });
});
