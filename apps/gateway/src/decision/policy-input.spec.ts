import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { validatePolicyInput } from '@caracal-deploy/policy-contract';

import { accessClaims } from '../auth/access-token.js';
import { buildGatewayInput, traceIdOf } from './policy-input.js';

describe('buildGatewayInput', () => {
  const claims = accessClaims({
    iss: 'https://sts',
    sub: 'app-7',
    sub_type: 'application',
    aud: 'resource://orders',
    exp: 1,
    zone_id: 'zone-1',
    scope: 'read write',
    sid: 'sid-1',
  });
  const input = buildGatewayInput({
    claims,
    resource: {
      identifier: 'resource://orders',
      id: 'res-orders',
      type: 'http',
      scopes: ['read', 'write'],
    },
    operation: { id: 'orders.create', scope: 'write' },
    method: 'POST',
    path: '/orders/42',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  });

  it('is a valid caracal-policy-input-2026-05-20 document', () => {
    const validation = validatePolicyInput(input);
    assert.equal(validation.valid, true, JSON.stringify(validation));
  });

  it('names the principal, resource, action with method and path, and the operation scope', () => {
    assert.deepEqual(input['principal'], { type: 'Application', id: 'app-7', zone_id: 'zone-1' });
    assert.deepEqual(input['action'], { id: 'orders.create', method: 'POST', path: '/orders/42' });
    assert.deepEqual(input['session'], { id: 'sid-1' });
    const context = input['context'] as Record<string, unknown>;
    assert.deepEqual(context['requested_scopes'], ['write']);
    assert.equal(context['trace_id'], '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal((context['subject_claims'] as Record<string, unknown>)['sub'], 'app-7');
  });

  it('reads the trace id of a well-formed traceparent only', () => {
    assert.equal(
      traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    assert.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.equal(traceIdOf('garbage'), undefined);
    assert.equal(traceIdOf(undefined), undefined);
  });
});
