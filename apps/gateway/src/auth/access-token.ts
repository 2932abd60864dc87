import type { KeyObject } from 'node:crypto';

import { JwtError, verifyEs256Jwt } from '@caracal-deploy/token-exchange';

/** The bearer token of an `Authorization` header, or why there is none usable. */
export function bearerToken(
  header: string | undefined,
): { token: string } | { problem: 'missing' | 'malformed' } {
  if (header === undefined || header.trim() === '') return { problem: 'missing' };
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match ? { token: match[1]! } : { problem: 'malformed' };
}

/** Verified claims of an STS access token (caracal-jwt-claims-2026-05-21). */
export interface AccessClaims {
  readonly sub: string;
  readonly zoneId: string;
  readonly scopes: ReadonlySet<string>;
  readonly audiences: readonly string[];
  readonly exp: number;
  readonly all: Readonly<Record<string, unknown>>;
}

/** A refused token: 401 `invalid_token`, or 403 `insufficient_scope`. */
export class TokenRefusal extends Error {
  constructor(
    readonly error: 'invalid_token' | 'insufficient_scope',
    message: string,
    /** The scope that was missing, for `WWW-Authenticate`. */
    readonly scope?: string,
  ) {
    super(message);
    this.name = 'TokenRefusal';
  }
}

/** Keys the Gateway trusts, by `kid`. */
export interface TrustedKeys {
  /** The key of `kid`, if known now. */
  key(kid: string | undefined): KeyObject | undefined;
  /**
   * Fetches the key set again (rate-limited, single-flight) because a token named
   * an unknown kid; resolves whether anything new may be known. Rejects when no
   * key source could be reached (the caller answers 503, not 401).
   */
  refreshForUnknownKid(): Promise<void>;
  /** Bumped whenever the key set changes, so cached verifications of removed keys are dropped. */
  readonly generation: number;
}

/** Options of {@link AccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  readonly keys: TrustedKeys;
  /** `iss` the STS puts in access tokens. */
  readonly issuer: string;
  /** Most verified tokens remembered (each until it expires). */
  readonly cacheEntries: number;
  /** Clock in seconds since the epoch, for tests. */
  readonly now?: () => number;
}

const clockSkewSeconds = 30;

/**
 * Verifies STS access tokens (ES256 against the STS's JWKS, issuer, expiry) and
 * checks them for one request (audience = the route's resource, scope = the
 * operation's). Signature checks are remembered per token string until expiry,
 * bounded, and forgotten when the key set changes.
 */
export class AccessTokenVerifier {
  private readonly cache = new Map<string, AccessClaims>();
  private cacheGeneration: number;
  private readonly now: () => number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.cacheGeneration = options.keys.generation;
  }

  /**
   * The token's claims when it is valid for `audience` with `scope`; throws
   * {@link TokenRefusal}, or the key set's error when no key source is reachable.
   */
  async authorize(token: string, audience: string, scope: string): Promise<AccessClaims> {
    const claims = await this.verified(token);
    if (!claims.audiences.includes(audience)) {
      throw new TokenRefusal(
        'invalid_token',
        `the token is for ${JSON.stringify(claims.audiences)}, not ${audience}`,
      );
    }
    if (!claims.scopes.has(scope)) {
      throw new TokenRefusal(
        'insufficient_scope',
        `the operation needs scope ${scope}; the token has ${[...claims.scopes].join(' ') || 'none'}`,
        scope,
      );
    }
    return claims;
  }

  private async verified(token: string): Promise<AccessClaims> {
    if (this.cacheGeneration !== this.options.keys.generation) {
      this.cache.clear();
      this.cacheGeneration = this.options.keys.generation;
    }
    const now = this.now();
    const cached = this.cache.get(token);
    if (cached) {
      if (cached.exp + clockSkewSeconds >= now) return cached;
      this.cache.delete(token);
      throw new TokenRefusal('invalid_token', `expired at ${cached.exp} (now ${now})`);
    }
    let raw: Record<string, unknown>;
    try {
      raw = this.verify(token, now);
    } catch (error) {
      if (!(error instanceof JwtError) || error.problem !== 'unknown_key') throw refusal(error);
      await this.options.keys.refreshForUnknownKid();
      try {
        raw = this.verify(token, now);
      } catch (retryError) {
        throw refusal(retryError);
      }
    }
    const claims = accessClaims(raw);
    if (this.cache.size >= this.options.cacheEntries) {
      // Oldest first: Map iteration follows insertion order.
      this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(token, claims);
    return claims;
  }

  private verify(token: string, now: number): Record<string, unknown> {
    return verifyEs256Jwt(token, {
      key: (kid) => this.options.keys.key(kid),
      issuer: this.options.issuer,
      now,
      clockSkewSeconds,
    });
  }
}

function refusal(error: unknown): unknown {
  return error instanceof JwtError ? new TokenRefusal('invalid_token', error.message) : error;
}

/** Checks the Caracal access-token claims the Gateway relies on. */
export function accessClaims(raw: Readonly<Record<string, unknown>>): AccessClaims {
  const zoneId = raw['zone_id'];
  if (typeof zoneId !== 'string' || zoneId.length === 0) {
    throw new TokenRefusal('invalid_token', 'zone_id is required');
  }
  if (raw['use'] !== undefined && raw['use'] !== 'resource') {
    throw new TokenRefusal('invalid_token', `use is ${JSON.stringify(raw['use'])}, not resource`);
  }
  const aud = raw['aud'];
  const audiences = (Array.isArray(aud) ? aud : [aud]).filter(
    (value): value is string => typeof value === 'string',
  );
  if (audiences.length === 0) throw new TokenRefusal('invalid_token', 'aud is required');
  const scope = raw['scope'];
  if (scope !== undefined && typeof scope !== 'string') {
    throw new TokenRefusal('invalid_token', 'scope must be a space-separated string');
  }
  return {
    sub: raw['sub'] as string,
    zoneId,
    scopes: new Set((scope ?? '').split(' ').filter((s) => s.length > 0)),
    audiences,
    exp: raw['exp'] as number,
    all: raw,
  };
}
