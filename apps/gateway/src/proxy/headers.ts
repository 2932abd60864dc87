import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Prefix of the headers only the Gateway may set; any the caller or the upstream sends is dropped. */
export const caracalHeaderPrefix = 'x-caracal-';

/** Hop-by-hop headers (RFC 9110 §7.6.1) a proxy must not forward. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The caller's `x-request-id` when it is a sane token (≤ 128 of `[A-Za-z0-9._:-]`), else a fresh UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header)
    ? header
    : randomUUID();
}

/**
 * The headers to pass on (to the upstream, or back to the caller): hop-by-hop
 * headers, headers named in `Connection`, `host` and every `x-caracal-*` header
 * removed, so nobody but the Gateway can assert a decision.
 */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name.length > 0),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = key.toLowerCase();
    if (hopByHop.has(name) || named.has(name) || name === 'host') continue;
    if (name.startsWith(caracalHeaderPrefix)) continue;
    out[name] = value;
  }
  return out;
}

/** The four decision headers every Gateway answer carries, allow or deny. */
export interface DecisionHeaders {
  readonly requestId: string;
  readonly decision: 'allow' | 'deny';
  /** The STS audit event id, or the Gateway's own id for a refusal made before asking the STS. */
  readonly decisionId: string;
  /** The bundle revision that decided; `none` when no policy did. */
  readonly revision: string;
}

/** {@link DecisionHeaders} as response headers. */
export function decisionHeaders(facts: DecisionHeaders): Record<string, string> {
  return {
    'x-request-id': facts.requestId,
    'x-caracal-decision': facts.decision,
    'x-caracal-decision-id': facts.decisionId,
    'x-caracal-policy-revision': facts.revision || 'none',
  };
}

/** Appends the caller's address to `x-forwarded-for`. */
export function forwardedFor(existing: string | string[] | undefined, remote: string | undefined) {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing;
  if (!remote) return prior;
  return prior ? `${prior}, ${remote}` : remote;
}
