import { randomUUID, type KeyObject } from 'node:crypto';

import { newJti, signEs256Jwt, tokenExchangeGrant } from '@caracal-deploy/token-exchange';

import type { Probe } from '../probes/probe.js';

/** How the canary principals get their subject tokens signed and exchanged. */
export interface CanaryTokensOptions {
  /** The region's STS token endpoint (`POST /oauth/2/token`). */
  readonly tokenUrl: string;
  /** The subject-token issuer key the STS trusts. */
  readonly privateKey: KeyObject;
  readonly keyId: string;
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly subjectTtlSeconds: number;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

/** What a probe goes through the Gateway with, or the STS's policy decision that stopped it first. */
export type Credential =
  | { readonly kind: 'token'; readonly accessToken: string }
  | {
      /**
       * The policy denied the canary principal's exchange itself: no token exists
       * to take through the Gateway, so this decision (audited by the STS under
       * `requestId`) is the one applied to the probe.
       */
      readonly kind: 'denied';
      readonly requestId: string;
      readonly httpStatus: number;
      readonly decision: string;
      readonly decisionId: string;
      readonly revision: string;
    };

/** The exchange failed for another reason than a policy decision (STS down, bad key, unknown resource...). */
export class TokenExchangeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenExchangeError';
  }
}

interface Cached {
  readonly accessToken: string;
  /** Milliseconds since the epoch after which the token is exchanged again. */
  readonly renewAt: number;
}

/**
 * Access tokens of the canary principals: a subject token signed with the
 * configured issuer key, exchanged at the region's STS (RFC 8693) for the
 * probe's resource and scopes, and reused until shortly before it expires.
 */
export class CanaryTokens {
  private readonly cache = new Map<string, Cached>();
  private readonly now: () => number;

  constructor(private readonly options: CanaryTokensOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A (cached) access token for `probe`, or the STS's deny; throws {@link TokenExchangeError}. */
  async credential(probe: Probe, signal: AbortSignal): Promise<Credential> {
    const key = JSON.stringify([probe.zone, probe.subjectClaims, probe.resource, probe.scopes]);
    const cached = this.cache.get(key);
    if (cached && cached.renewAt > this.now()) {
      return { kind: 'token', accessToken: cached.accessToken };
    }
    this.cache.delete(key);
    const requestId = randomUUID();
    let response: Response;
    try {
      response = await fetch(this.options.tokenUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-request-id': requestId,
        },
        body: new URLSearchParams({
          grant_type: tokenExchangeGrant,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: this.subjectToken(probe),
          resource: probe.resource,
          scope: probe.scopes.join(' '),
        }),
        signal,
      });
    } catch (error) {
      throw new TokenExchangeError(
        `token exchange at ${this.options.tokenUrl} failed: ${describe(error)}`,
        { cause: error },
      );
    }
    let body: Record<string, unknown>;
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch (error) {
      throw new TokenExchangeError(
        `token exchange answered ${response.status} without a JSON body: ${describe(error)}`,
        { cause: error },
      );
    }
    const decision = response.headers.get('x-caracal-decision');
    if (response.status === 403 && body['error'] === 'access_denied' && decision) {
      return {
        kind: 'denied',
        requestId: response.headers.get('x-request-id') ?? requestId,
        httpStatus: response.status,
        decision,
        decisionId: response.headers.get('x-caracal-decision-id') ?? stringOf(body['decision_id']),
        revision: response.headers.get('x-caracal-policy-revision') ?? '',
      };
    }
    const accessToken = body['access_token'];
    if (response.status !== 200 || typeof accessToken !== 'string') {
      throw new TokenExchangeError(
        `token exchange refused (${response.status} ${stringOf(body['error'])}): ${stringOf(body['error_description'])}`,
      );
    }
    const lifetimeMs = Math.max(Number(body['expires_in']) || 0, 0) * 1000;
    // Renew well before expiry, so a token never dies between the cache and the Gateway.
    const marginMs = Math.min(30_000, lifetimeMs / 5);
    this.cache.set(key, { accessToken, renewAt: this.now() + lifetimeMs - marginMs });
    return { kind: 'token', accessToken };
  }

  /** Forgets the cached token of `probe`'s principal (the Gateway refused it as invalid). */
  forget(probe: Probe): void {
    this.cache.delete(
      JSON.stringify([probe.zone, probe.subjectClaims, probe.resource, probe.scopes]),
    );
  }

  private subjectToken(probe: Probe): string {
    const now = Math.floor(this.now() / 1000);
    return signEs256Jwt(
      {
        ...probe.subjectClaims,
        iss: this.options.issuer,
        zone_id: probe.zone,
        ...(this.options.audience ? { aud: this.options.audience } : {}),
        iat: now,
        exp: now + this.options.subjectTtlSeconds,
        jti: newJti(),
      },
      this.options.privateKey,
      this.options.keyId,
    );
  }
}

/** A transport failure in words, with the underlying cause fetch hides. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
