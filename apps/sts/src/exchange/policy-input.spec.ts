import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { Ajv2020 } from 'ajv/dist/2020.js';

import { buildPolicyInput, exchangeActionId, traceIdOf } from './policy-input.js';

// dist/exchange → the shared Caracal contracts beside the repository.
const schema = JSON.parse(
  readFileSync(
    new URL(
      '../../../../../shared/contracts/caracal/schemas/caracal-policy-input-2026-05-20.schema.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as Record<string, unknown>;
const validate = new Ajv2020({
  allErrors: true,
  validateFormats: false,
  allowUnionTypes: true,
}).compile(schema);

const resource = {
  identifier: 'resource://api',
  id: 'res-1',
  type: 'http',
  scopes: ['read', 'write'],
  operations: ['GET /items'],
};

describe('buildPolicyInput', () => {
  it('builds a schema-valid caracal-policy-input-2026-05-20 document from the exchange', () => {
    const input = buildPolicyInput({
      zoneId: 'zone-1',
      subjectClaims: { sub: 'user-1', iss: 'idp', sub_type: 'application' },
      actorClaims: { caracal_client_id: 'app-1' },
      resource,
      requestedScopes: ['read'],
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    assert.ok(validate(input), JSON.stringify(validate.errors));
    assert.deepEqual(input, {
      schema_version: '2026-05-20',
      principal: { type: 'Application', id: 'user-1', zone_id: 'zone-1' },
      resource: {
        type: 'http',
        id: 'res-1',
        identifier: 'resource://api',
        scopes: ['read', 'write'],
      },
      action: { id: exchangeActionId },
      context: {
        actor_claims: { caracal_client_id: 'app-1' },
        subject_claims: { sub: 'user-1', iss: 'idp', sub_type: 'application' },
        challenge_resolved: false,
        requested_scopes: ['read'],
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      },
    });
  });

  it('defaults to a User principal, an http resource and no trace id', () => {
    const { type: _type, ...untyped } = resource;
    const input = buildPolicyInput({
      zoneId: 'zone-1',
      subjectClaims: { sub: 'user-2' },
      actorClaims: {},
      resource: untyped,
      requestedScopes: ['write'],
    });
    assert.ok(validate(input), JSON.stringify(validate.errors));
    assert.equal((input['principal'] as { type: string }).type, 'User');
    assert.equal((input['resource'] as { type: string }).type, 'http');
    assert.equal('trace_id' in (input['context'] as object), false);
  });
});

describe('traceIdOf', () => {
  it('takes the trace id of a well-formed traceparent and ignores anything else', () => {
    assert.equal(
      traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    assert.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.equal(traceIdOf('garbage'), undefined);
    assert.equal(traceIdOf(undefined), undefined);
  });
});
