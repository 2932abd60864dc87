import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ResourceExhaustedError } from '@caracal-deploy/errors';

import type { DecideCall } from './decision-engine.js';
import { decideOverHttp, decideRequest } from './decide-request.js';

// The engine is faked at its boundary: these tests are about the request checks
// and the HTTP answer; the real engine is exercised in the e2e suite.
const engineOf = (behaviour: (call: DecideCall) => void = () => undefined) => {
  const calls: DecideCall[] = [];
  return {
    calls,
    serves: (zoneId: string) => zoneId === 'zone-a',
    decide: (call: DecideCall) => {
      calls.push(call);
      behaviour(call);
      return {
        decision: 'allow' as const,
        evaluationStatus: 'complete' as const,
        result: { decision: 'allow', evaluation_status: 'complete' },
        revision: 'rev-1',
        decisionId: 'dec-1',
        requestId: call.requestId,
      };
    },
  };
};
const input = { principal: { id: 'user-1' } };

describe('decideRequest', () => {
  it('decides a served zone as gateway.decide with the caller request id', () => {
    const engine = engineOf();
    const decided = decideRequest(engine, {
      zoneId: 'zone-a',
      requestId: 'req-1',
      input,
      inputField: 'input_json',
    });
    assert.equal(decided.decision, 'allow');
    assert.deepEqual(engine.calls, [
      { zoneId: 'zone-a', requestId: 'req-1', eventType: 'gateway.decide', input },
    ]);
  });

  it('refuses a missing zone, an unserved zone and a non-object input, naming the field', () => {
    const engine = engineOf();
    const call = (zoneId: string, value: unknown) =>
      decideRequest(engine, { zoneId, requestId: 'r', input: value, inputField: 'input_json' });
    assert.throws(
      () => call('', input),
      (error: unknown) =>
        (error as { code: string; violations: { field: string }[] }).code === 'invalid_argument' &&
        (error as { violations: { field: string }[] }).violations[0]!.field === 'zone_id',
    );
    assert.throws(() => call('zone-b', input), { code: 'failed_precondition' });
    for (const bad of [[1], 'text', null]) {
      assert.throws(
        () => call('zone-a', bad),
        (error: unknown) =>
          (error as { violations: { field: string }[] }).violations[0]!.field === 'input_json',
      );
    }
    assert.equal(engine.calls.length, 0);
  });
});

describe('decideOverHttp', () => {
  const noLog = () => assert.fail('nothing unexpected happened, so nothing is logged');

  it('answers 200 with the decision, its id and revision in the body and the x-caracal headers', () => {
    const answer = decideOverHttp(
      engineOf(),
      { zone_id: 'zone-a', input, request_id: 'req-9' },
      'req-header',
      noLog,
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      decision: 'allow',
      decision_id: 'dec-1',
      revision: 'rev-1',
      evaluation_status: 'complete',
      result: { decision: 'allow', evaluation_status: 'complete' },
    });
    assert.deepEqual(answer.headers, {
      'x-request-id': 'req-9',
      'x-caracal-decision': 'allow',
      'x-caracal-decision-id': 'dec-1',
      'x-caracal-policy-revision': 'rev-1',
    });
  });

  it('maps bad bodies to 400, an unserved zone to 409 and a full audit buffer to 503 with retry-after', () => {
    const engine = engineOf();
    const status = (body: unknown) => decideOverHttp(engine, body, 'r', noLog).status;
    assert.equal(status([]), 400);
    assert.equal(status({ input }), 400);
    assert.equal(status({ zone_id: 7, input }), 400);
    assert.equal(status({ zone_id: 'zone-a', input: 'x' }), 400);
    assert.equal(status({ zone_id: 'zone-b', input }), 409);
    const full = decideOverHttp(
      engineOf(() => {
        throw new ResourceExhaustedError('10 decisions are waiting for Kafka');
      }),
      { zone_id: 'zone-a', input },
      'r',
      noLog,
    );
    assert.equal(full.status, 503);
    assert.equal(full.headers?.['retry-after'], '1');
    assert.equal((full.body as { error: { code: string } }).error.code, 'resource_exhausted');
  });

  it('answers 500 without the cause of an unexpected failure, and logs it', () => {
    const logged: unknown[] = [];
    const answer = decideOverHttp(
      engineOf(() => {
        throw new Error('secret detail');
      }),
      { zone_id: 'zone-a', input },
      'r',
      (_message, error) => logged.push(error),
    );
    assert.equal(answer.status, 500);
    assert.doesNotMatch(JSON.stringify(answer.body), /secret detail/);
    assert.equal((logged[0] as Error).message, 'secret detail');
  });
});
