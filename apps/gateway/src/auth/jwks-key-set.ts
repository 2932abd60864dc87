import { createPublicKey, type KeyObject } from 'node:crypto';

import { UnavailableError } from '@caracal-deploy/errors';

import type { TrustedKeys } from './access-token.js';

/** Options of {@link JwksKeySet}. */
export interface JwksKeySetOptions {
  /** JWKS documents to trust (each STS replica's `/.well-known/jwks.json`); keys are their union. */
  readonly urls: readonly string[];
  /** Timeout of one JWKS fetch, ms. */
  readonly timeoutMs: number;
  /** Fetch everything again this often, ms (drops retired keys). */
  readonly refreshIntervalMs: number;
  /** At most one refresh triggered by an unknown kid per this many ms (forged kids cannot flood the STS). */
  readonly minRefreshMs: number;
  /** Receives fetch failures (the previous keys of that source stay trusted). */
  readonly onFetchFailed?: (url: string, error: unknown) => void;
  /** Injected for tests. */
  readonly fetch?: typeof fetch;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

interface Jwk {
  readonly kty?: unknown;
  readonly crv?: unknown;
  readonly kid?: unknown;
  readonly alg?: unknown;
  readonly use?: unknown;
}

/**
 * The STS's ES256 verification keys, fetched from one or more JWKS URLs and
 * cached: refreshed periodically and when a token names an unknown kid
 * (rate-limited, one fetch in flight). A source that fails keeps its last keys.
 */
export class JwksKeySet implements TrustedKeys {
  private readonly bySource = new Map<string, Map<string, KeyObject>>();
  private merged = new Map<string, KeyObject>();
  private fingerprint = '';
  private inFlight: Promise<void> | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastReachable = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  generation = 0;

  constructor(private readonly options: JwksKeySetOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** Fetches once (failures are reported, not thrown) and then every refresh interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.timer.unref();
  }

  /** Stops the periodic refresh. */
  stop(): void {
    clearInterval(this.timer);
  }

  key(kid: string | undefined): KeyObject | undefined {
    return kid === undefined ? undefined : this.merged.get(kid);
  }

  /** Number of trusted keys. */
  get size(): number {
    return this.merged.size;
  }

  /** How many sources answered the last fetch. */
  get reachableSources(): number {
    return this.lastReachable;
  }

  async refreshForUnknownKid(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    else if (this.now() - this.lastAttemptAt >= this.options.minRefreshMs) await this.refresh();
    if (this.lastReachable === 0) {
      throw new UnavailableError(
        `no JWKS source is reachable (${this.options.urls.join(', ')}); cannot verify the token`,
      );
    }
  }

  /** Fetches every source now (single-flight). */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetchAll().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchAll(): Promise<void> {
    this.lastAttemptAt = this.now();
    const results = await Promise.allSettled(this.options.urls.map((url) => this.fetchOne(url)));
    let reachable = 0;
    results.forEach((result, index) => {
      const url = this.options.urls[index]!;
      if (result.status === 'fulfilled') {
        reachable += 1;
        this.bySource.set(url, result.value);
      } else {
        this.options.onFetchFailed?.(url, result.reason);
      }
    });
    this.lastReachable = reachable;
    const merged = new Map<string, KeyObject>();
    for (const keys of this.bySource.values()) for (const [kid, key] of keys) merged.set(kid, key);
    const fingerprint = [...merged]
      .map(([kid, key]) => `${kid}:${key.export({ format: 'jwk' }).x}`)
      .sort()
      .join(',');
    if (fingerprint !== this.fingerprint) {
      this.merged = merged;
      this.fingerprint = fingerprint;
      this.generation += 1;
    }
  }

  private async fetchOne(url: string): Promise<Map<string, KeyObject>> {
    const response = await this.fetchImpl(url, {
      signal: AbortSignal.timeout(this.options.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return parseJwks(await response.json());
  }
}

/** The ES256 signing keys of a JWKS document by kid; other keys are ignored. */
export function parseJwks(document: unknown): Map<string, KeyObject> {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWKS document: expected {"keys": [...]}');
  const out = new Map<string, KeyObject>();
  for (const jwk of keys as Jwk[]) {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.kid !== 'string') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'ES256') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    out.set(jwk.kid, createPublicKey({ key: jwk as never, format: 'jwk' }));
  }
  return out;
}
