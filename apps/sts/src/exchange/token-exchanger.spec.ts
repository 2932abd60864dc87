import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';

import { InternalError, ResourceExhaustedError, UnavailableError } from '@caracal-deploy/errors';
import { signEs256Jwt, tokenExchangeGrant } from '@caracal-deploy/token-exchange';

import type { DecideCall } from '../decision/decision-engine.js';
import { TokenExchanger, failureAnswer } from './token-exchanger.js';

const subjectKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const issuingKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const now = 1_790_000_000;
const subjectIssuer = 'https://idp.test';

const subjectToken = (claims: Record<string, unknown> = {}) =>
  signEs256Jwt(
    { iss: subjectIssuer, sub: 'user-1', exp: now + 60, iat: now, ...claims },
    subjectKeys.privateKey,
    'idp-1',
  );

const form = (token: string, extra: Record<string, string> = {}) => ({
  grant_type: tokenExchangeGrant,
  subject_token: token,
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  resource: 'resource://api',
  scope: 'read',
  ...extra,
});

/** An exchanger over fakes at the lib boundary: the engine throws `decideError` when set. */
function exchanger(decideError?: Error) {
  const calls: DecideCall[] = [];
  const errors: unknown[] = [];
  const instance = new TokenExchanger({
    engine: {
      serves: (zone) => zone === 'zone-1',
      decide: (call) => {
        calls.push(call);
        if (decideError) throw decideError;
        return {
          decision: 'allow',
          evaluationStatus: 'complete',
          result: {},
          revision: 'rev-1',
          decisionId: 'd-1',
          requestId: call.requestId,
        };
      },
    },
    catalog: {
      resolve: (_zone, identifier) =>
        Promise.resolve(
          identifier === 'resource://api'
            ? { identifier, id: 'r-1', scopes: ['read'], operations: [] }
            : undefined,
        ),
    },
    defaultZone: 'zone-1',
    subject: {
      issuer: subjectIssuer,
      key: (kid) => (kid === 'idp-1' ? subjectKeys.publicKey : undefined),
    },
    issuing: {
      issuer: 'https://sts.test',
      privateKey: issuingKeys.privateKey,
      keyId: 'sts-1',
      ttlSeconds: 60,
    },
    logError: (_message, error) => errors.push(error),
    now: () => now,
  });
  return { instance, calls, errors };
}

describe('TokenExchanger error mapping', () => {
  it('answers 503 temporarily_unavailable and issues no token when the audit buffer is full', async () => {
    const { instance, calls } = exchanger(new ResourceExhaustedError('full'));
    const answer = await instance.exchange(form(subjectToken()), { requestId: 'r-1' });
    assert.equal(answer.status, 503);
    assert.equal((answer.body as { error: string }).error, 'temporarily_unavailable');
    assert.equal('access_token' in answer.body, false);
    assert.equal(answer.headers?.['retry-after'], '1');
    assert.equal(calls.length, 1);
  });

  it('answers 500 server_error without leaking an unexpected cause, and logs it', async () => {
    const { instance, errors } = exchanger(new Error('secret detail'));
    const answer = await instance.exchange(form(subjectToken()), { requestId: 'r-1' });
    assert.deepEqual(answer, {
      status: 500,
      body: { error: 'server_error', error_description: 'internal error' },
    });
    assert.equal(errors.length, 1);
  });

  it('maps an unavailable dependency to 503 and other deploy errors to 500', () => {
    assert.equal(
      failureAnswer(new UnavailableError('admin api down'), () => undefined).status,
      503,
    );
    assert.equal(failureAnswer(new InternalError('boom'), () => undefined).status, 500);
  });

  it('answers 401 invalid_token naming the problem, before any decision', async () => {
    const { instance, calls } = exchanger();
    const expired = await instance.exchange(form(subjectToken({ exp: now - 3_600 })), {
      requestId: 'r',
    });
    assert.equal(expired.status, 401);
    assert.equal((expired.body as { error: string }).error, 'invalid_token');
    assert.equal((expired.body as { problem: string }).problem, 'expired');
    const wrongZone = await instance.exchange(form(subjectToken({ zone_id: 7 })), {
      requestId: 'r',
    });
    assert.equal(wrongZone.status, 401);
    assert.equal(calls.length, 0);
  });

  it('answers 400 for bad requests, unserved zones, unknown resources and unoffered scopes', async () => {
    const { instance, calls } = exchanger();
    const cases: [Record<string, string>, string][] = [
      [{ grant_type: 'password' }, 'unsupported_grant_type'],
      [{ resource: 'resource://nope' }, 'invalid_target'],
      [{ scope: 'write' }, 'invalid_scope'],
    ];
    for (const [extra, error] of cases) {
      const answer = await instance.exchange(form(subjectToken(), extra), { requestId: 'r' });
      assert.equal(answer.status, 400, error);
      assert.equal((answer.body as { error: string }).error, error);
    }
    const otherZone = await instance.exchange(form(subjectToken({ zone_id: 'zone-9' })), {
      requestId: 'r',
    });
    assert.equal((otherZone.body as { error: string }).error, 'invalid_target');
    assert.equal(calls.length, 0);
  });
});
