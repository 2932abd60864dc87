import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ActivationService } from '@caracal-deploy/contracts';
import { UnavailableError, UnimplementedError } from '@caracal-deploy/errors';
import { createGrpcClient } from '@caracal-deploy/grpc';

import { ActivationStandIn } from './activation-stand-in.js';

describe('ActivationStandIn', () => {
  const standIn = new ActivationStandIn({
    getActiveBinding: (request) =>
      Promise.resolve({ binding: { zoneId: request.zoneId, policySetVersionId: 'v1' } }),
  });
  const client = (address: string) =>
    createGrpcClient(ActivationService, address, { defaultTimeoutMs: 5_000 });

  it('serves the handlers it is given and answers UNIMPLEMENTED for the rest', async () => {
    const activations = client(await standIn.listen());
    try {
      const { binding } = await activations.getActiveBinding({ zoneId: 'zone-a' });
      assert.deepEqual([binding?.zoneId, binding?.policySetVersionId], ['zone-a', 'v1']);
      await assert.rejects(activations.listActivations({ zoneId: 'zone-a' }), UnimplementedError);
      await assert.rejects(async () => {
        for await (const _ of activations.watchActivation({ activationId: 'a' })) break;
      }, UnimplementedError);
    } finally {
      activations.close();
      await standIn.close();
    }
  });

  it('is unavailable once closed, and serves again on the same address', async () => {
    const address = await standIn.listen();
    await standIn.close();
    const down = client(address);
    try {
      await assert.rejects(down.getActiveBinding({ zoneId: 'zone-a' }), UnavailableError);
    } finally {
      down.close();
    }
    assert.equal(await standIn.listen(), address);
    const up = client(address);
    try {
      const { binding } = await up.getActiveBinding({ zoneId: 'zone-b' });
      assert.equal(binding?.zoneId, 'zone-b');
    } finally {
      up.close();
      await standIn.close();
    }
  });
});
