import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';

import {
  JwtError,
  accessTokenClaims,
  es256Jwk,
  parseExchangeRequest,
  signEs256Jwt,
  tokenExchangeGrant,
  tokenResponse,
  verifyEs256Jwt,
  type JwtProblem,
} from './index.js';

// dist/ → the shared Caracal contracts sit beside the repository.
const contracts = new URL('../../../../shared/contracts/caracal/', import.meta.url);
const schema = (name: string) =>
  JSON.parse(readFileSync(new URL(`schemas/${name}.schema.json`, contracts), 'utf8')) as Record<
    string,
    unknown
  >;
const ajv = new Ajv2020({ allErrors: true, validateFormats: false });

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const issuer = 'https://sts.caracal.test';
const now = 1_790_000_000;
const keys = { 'kid-1': publicKey };
const verifyOptions = {
  key: (kid: string | undefined) => (kid ? keys[kid as 'kid-1'] : undefined),
  issuer,
  now,
};

function rejects(token: string, problem: JwtProblem, options = {}) {
  assert.throws(
    () => verifyEs256Jwt(token, { ...verifyOptions, ...options }),
    (error: unknown) => error instanceof JwtError && error.problem === problem,
    problem,
  );
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const subjectClaims = { iss: issuer, sub: 'user-1', aud: 'caracal-sts', exp: now + 60, iat: now };

describe('ES256 JWTs', () => {
  it('round-trips claims and publishes the matching JWK', () => {
    const token = signEs256Jwt(subjectClaims, privateKey, 'kid-1');
    assert.deepEqual(
      verifyEs256Jwt(token, { ...verifyOptions, audience: 'caracal-sts' }),
      subjectClaims,
    );
    const jwk = es256Jwk(privateKey, 'kid-1');
    assert.deepEqual(
      { kty: jwk.kty, crv: jwk.crv, alg: jwk.alg, kid: jwk.kid },
      { kty: 'EC', crv: 'P-256', alg: 'ES256', kid: 'kid-1' },
    );
    assert.deepEqual(jwk.x, publicKey.export({ format: 'jwk' }).x);
  });

  it('refuses every kind of bad token with a precise problem', () => {
    const good = signEs256Jwt(subjectClaims, privateKey, 'kid-1');
    const [header, , signature] = good.split('.');
    rejects('a.b', 'malformed');
    rejects(`${header}.${b64({ ...subjectClaims, sub: 'admin' })}.${signature}`, 'bad_signature');
    rejects(
      `${b64({ alg: 'none', kid: 'kid-1' })}.${b64(subjectClaims)}.`,
      'unsupported_algorithm',
    );
    rejects(
      `${b64({ alg: 'HS256', kid: 'kid-1' })}.${b64(subjectClaims)}.${signature}`,
      'unsupported_algorithm',
    );
    rejects(signEs256Jwt(subjectClaims, privateKey, 'kid-9'), 'unknown_key');
    rejects(signEs256Jwt(subjectClaims, other.privateKey, 'kid-1'), 'bad_signature');
    rejects(signEs256Jwt({ ...subjectClaims, exp: now - 31 }, privateKey, 'kid-1'), 'expired');
    rejects(
      signEs256Jwt({ ...subjectClaims, nbf: now + 31 }, privateKey, 'kid-1'),
      'not_yet_valid',
    );
    rejects(
      signEs256Jwt({ ...subjectClaims, iss: 'https://evil' }, privateKey, 'kid-1'),
      'wrong_issuer',
    );
    rejects(good, 'wrong_audience', { audience: 'someone-else' });
    rejects(signEs256Jwt({ ...subjectClaims, sub: '' }, privateKey, 'kid-1'), 'missing_claim');
  });

  it('tolerates clock skew within the allowance', () => {
    const token = signEs256Jwt({ ...subjectClaims, exp: now - 10 }, privateKey, 'kid-1');
    assert.equal(verifyEs256Jwt(token, verifyOptions)['sub'], 'user-1');
  });
});

describe('issued access tokens', () => {
  const input = {
    issuer,
    subject: 'user-1',
    subjectType: 'user' as const,
    clientId: 'app-1',
    zoneId: 'zone-1',
    resources: ['resource://api'],
    scopes: ['read', 'write'],
    sid: 'authority-record-1',
    rootSid: 'authority-record-root',
    jti: '018f7d6a-8f4a-7d9f-9a54-5e4fd7df0001',
    now,
    ttlSeconds: 300,
    delegationEdgeId: 'delegation-1',
    delegationPath: ['delegation-1'],
  };

  it('carries claims valid against caracal-jwt-claims-2026-05-21, as the fixture does', () => {
    const validate = ajv.compile(schema('caracal-jwt-claims-2026-05-21'));
    const claims = accessTokenClaims(input);
    assert.ok(validate(claims), JSON.stringify(validate.errors));
    const fixture = JSON.parse(
      readFileSync(new URL('fixtures/jwt-claims.resource.valid.json', contracts), 'utf8'),
    ) as Record<string, unknown>;
    for (const key of [
      'aud',
      'exp',
      'zone_id',
      'client_id',
      'scope',
      'sid',
      'root_sid',
      'use',
      'sub_type',
      'target',
      'hop_count',
    ]) {
      assert.deepEqual(claims[key], fixture[key] ?? claims[key], key);
    }
    assert.equal(claims['exp'], fixture['exp']);
  });

  it('answers with a body valid against caracal-token-response-2026-05-21', () => {
    const validate = ajv.compile(schema('caracal-token-response-2026-05-21'));
    const body = tokenResponse(signEs256Jwt(accessTokenClaims(input), privateKey, 'kid-1'), input);
    assert.ok(validate(body), JSON.stringify(validate.errors));
    assert.equal(body.expires_in, 300);
  });
});

describe('parseExchangeRequest (RFC 8693)', () => {
  const base = {
    grant_type: tokenExchangeGrant,
    subject_token: 'eyJ.a.b',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    resource: 'resource://api',
    scope: 'read  write read',
  };

  it('reads a well-formed request', () => {
    const parsed = parseExchangeRequest(base);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.request.resources, ['resource://api']);
    assert.deepEqual(parsed.request.scopes, ['read', 'write']);
  });

  it('names the parameter and the problem for each bad request', () => {
    const cases: [Record<string, string | string[] | undefined>, string, RegExp][] = [
      [{ ...base, grant_type: undefined }, 'invalid_request', /grant_type is required/],
      [
        { ...base, grant_type: 'client_credentials' },
        'unsupported_grant_type',
        /client_credentials/,
      ],
      [{ ...base, subject_token: '' }, 'invalid_request', /subject_token is required/],
      [{ ...base, subject_token_type: 'saml' }, 'invalid_request', /subject_token_type "saml"/],
      [{ ...base, resource: undefined }, 'invalid_target', /resource is required/],
      [{ ...base, resource: ['resource://api', 'https://x'] }, 'invalid_target', /"https:\/\/x"/],
      [{ ...base, scope: ' ' }, 'invalid_scope', /scope is required/],
      [{ ...base, scope: 'read "x' }, 'invalid_scope', /"\\"x"/],
      [
        { ...base, subject_token: ['a', 'b'] },
        'invalid_request',
        /subject_token must be given once/,
      ],
      [{ ...base, actor_token: 'x' }, 'invalid_request', /actor_token_type is required/],
    ];
    for (const [params, error, description] of cases) {
      const parsed = parseExchangeRequest(params);
      assert.ok(!parsed.ok, JSON.stringify(params));
      assert.equal(parsed.error.error, error, JSON.stringify(params));
      assert.match(parsed.error.error_description, description);
    }
  });
});
