import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadAdminConfig } from '../config/admin.config.js';
import { PayloadTooLargeError } from '../http/http-errors.js';
import { ValidatorClient } from './validator.client.js';

describe('ValidatorClient', () => {
  it('refuses sources larger than the validator accepts, before sending anything', async () => {
    // Nothing listens at this address: a request that got sent would fail as unavailable.
    const client = new ValidatorClient(
      loadAdminConfig({
        CARACAL_VALIDATOR_ADDRESS: '127.0.0.1:1',
        CARACAL_VALIDATOR_MAX_MESSAGE_BYTES: '1000',
      }),
    );
    try {
      const source = { zoneId: 'prod', modules: [{ path: 'a.rego', source: 'x'.repeat(2000) }] };
      await assert.rejects(client.validate(source), (error: unknown) => {
        assert.ok(error instanceof PayloadTooLargeError);
        assert.match(error.message, /at most 1000 bytes/);
        return true;
      });
      await assert.rejects(client.buildBundle(source, 'r'), PayloadTooLargeError);
      await assert.rejects(
        client.validate({ zoneId: 'prod', modules: [{ path: 'a.rego', source: 'small' }] }),
        (error: unknown) => (error as { code?: string }).code === 'unavailable',
      );
    } finally {
      client.onApplicationShutdown();
    }
  });
});
