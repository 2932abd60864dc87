import { createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

/** Why a JWT was refused; stable codes for metrics and OAuth error descriptions. */
export type JwtProblem =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim';

/** A refused JWT: the problem code and a message naming what was wrong. */
export class JwtError extends Error {
  constructor(
    readonly problem: JwtProblem,
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

/** JSON Web Key of an ES256 public key, as published in a JWKS. */
export interface Es256Jwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
}

const base64url = (bytes: Buffer | Uint8Array) => Buffer.from(bytes).toString('base64url');
const json = (value: unknown) => base64url(Buffer.from(JSON.stringify(value)));

/** Signs `claims` as a compact ES256 JWS with `kid` in the header. */
export function signEs256Jwt(
  claims: Readonly<Record<string, unknown>>,
  privateKey: KeyObject,
  kid: string,
): string {
  const input = `${json({ alg: 'ES256', typ: 'JWT', kid })}.${json(claims)}`;
  // JWS wants the raw r||s signature, not DER (RFC 7518 §3.4).
  const signature = sign('sha256', Buffer.from(input), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${base64url(signature)}`;
}

/** The public JWK of an ES256 key (private or public), for a JWKS document. */
export function es256Jwk(key: KeyObject, kid: string): Es256Jwk {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) {
    throw new Error(`key ${kid} is not a P-256 EC key`);
  }
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' };
}

/** What {@link verifyEs256Jwt} checks besides the signature. */
export interface VerifyOptions {
  /** Resolves a header `kid` to a public key; undefined = unknown key. */
  readonly key: (kid: string | undefined) => KeyObject | undefined;
  /** Required `iss`. */
  readonly issuer: string;
  /** When set, `aud` must be or include it. */
  readonly audience?: string;
  /** Seconds since the epoch (default: now). */
  readonly now?: number;
  /** Allowed clock skew for exp/nbf/iat, seconds (default 30). */
  readonly clockSkewSeconds?: number;
}

function decodePart(part: string | undefined, what: string): Record<string, unknown> {
  if (!part) throw new JwtError('malformed', `the ${what} is missing`);
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new JwtError('malformed', `the ${what} is not a base64url JSON object`);
}

/**
 * Verifies a compact ES256 JWT: structure, algorithm (only ES256; `none` and
 * HMAC are refused), key, signature, issuer, audience, expiry and not-before,
 * and returns its claims. Throws a {@link JwtError} saying what failed.
 */
export function verifyEs256Jwt(token: string, options: VerifyOptions): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new JwtError('malformed', `expected 3 dot-separated parts, got ${parts.length}`);
  const header = decodePart(parts[0], 'header');
  const claims = decodePart(parts[1], 'payload');
  if (header['alg'] !== 'ES256') {
    throw new JwtError(
      'unsupported_algorithm',
      `alg ${JSON.stringify(header['alg'])} is not accepted; only ES256`,
    );
  }
  const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
  const key = options.key(kid);
  if (!key) throw new JwtError('unknown_key', `no trusted key ${JSON.stringify(kid ?? null)}`);
  const signature = Buffer.from(parts[2] ?? '', 'base64url');
  const valid =
    signature.length === 64 &&
    verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
    );
  if (!valid) throw new JwtError('bad_signature', 'the signature does not verify');

  const now = options.now ?? Math.floor(Date.now() / 1000);
  const skew = options.clockSkewSeconds ?? 30;
  if (claims['iss'] !== options.issuer) {
    throw new JwtError(
      'wrong_issuer',
      `iss is ${JSON.stringify(claims['iss'])}, expected ${JSON.stringify(options.issuer)}`,
    );
  }
  if (typeof claims['exp'] !== 'number') throw new JwtError('missing_claim', 'exp is required');
  if (claims['exp'] + skew < now)
    throw new JwtError('expired', `expired at ${claims['exp']} (now ${now})`);
  if (typeof claims['nbf'] === 'number' && claims['nbf'] - skew > now) {
    throw new JwtError('not_yet_valid', `not valid before ${claims['nbf']} (now ${now})`);
  }
  if (typeof claims['sub'] !== 'string' || claims['sub'].length === 0)
    throw new JwtError('missing_claim', 'sub is required');
  if (options.audience !== undefined) {
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) {
      throw new JwtError(
        'wrong_audience',
        `aud ${JSON.stringify(aud)} does not include ${JSON.stringify(options.audience)}`,
      );
    }
  }
  return claims;
}

/** A fresh JWT id. */
export function newJti(): string {
  return randomUUID();
}
