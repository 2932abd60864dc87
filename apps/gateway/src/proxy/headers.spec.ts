import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decisionHeaders, forwardableHeaders, forwardedFor, requestIdOf } from './headers.js';

describe('headers', () => {
  it('drops every x-caracal-* header, hop-by-hop headers and those named in Connection', () => {
    const out = forwardableHeaders({
      host: 'gw',
      'x-caracal-decision': 'allow',
      'X-Caracal-Decision-Id': 'forged',
      'x-caracal-policy-revision': 'forged',
      connection: 'keep-alive, x-secret',
      'x-secret': '1',
      'transfer-encoding': 'chunked',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic x',
      authorization: 'Bearer t',
      'content-type': 'application/json',
      'x-request-id': 'r-1',
    });
    assert.deepEqual(out, {
      authorization: 'Bearer t',
      'content-type': 'application/json',
      'x-request-id': 'r-1',
    });
  });

  it('keeps a sane caller request id and replaces anything else', () => {
    assert.equal(requestIdOf('req-1.a:b'), 'req-1.a:b');
    assert.match(requestIdOf('bad id with spaces'), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf(['a', 'b']), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf('x'.repeat(129)), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf(undefined), /^[0-9a-f-]{36}$/);
  });

  it('builds the four decision headers, with "none" when no policy decided', () => {
    assert.deepEqual(
      decisionHeaders({ requestId: 'r', decision: 'deny', decisionId: 'd', revision: '' }),
      {
        'x-request-id': 'r',
        'x-caracal-decision': 'deny',
        'x-caracal-decision-id': 'd',
        'x-caracal-policy-revision': 'none',
      },
    );
  });

  it('appends the caller to x-forwarded-for', () => {
    assert.equal(forwardedFor(undefined, '10.0.0.1'), '10.0.0.1');
    assert.equal(forwardedFor('1.1.1.1', '10.0.0.1'), '1.1.1.1, 10.0.0.1');
    assert.equal(forwardedFor(undefined, undefined), undefined);
  });
});
