import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { UnauthenticatedError } from '@caracal-deploy/errors';

import type { GrafanaSigning } from '../config/rollback.config.js';

/** Request headers as Node delivers them (lowercase names). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

function single(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Compares secrets in constant time whatever their lengths. */
function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Throws {@link UnauthenticatedError} unless `Authorization: Bearer <token>` carries `token`. */
export function requireBearer(headers: HeaderMap, token: string): void {
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(single(headers, 'authorization') ?? '');
  if (match?.[1] === undefined) {
    throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
  }
  if (!sameSecret(match[1], token)) throw new UnauthenticatedError('wrong bearer token');
}

/** Grafana's signature of `body`: hex HMAC-SHA256 of the body, or of `<timestamp>:<body>`. */
export function grafanaSignature(secret: string, body: Buffer, timestamp?: string): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}:`, 'utf8');
  return hmac.update(body).digest('hex');
}

/**
 * Throws {@link UnauthenticatedError} unless the request carries Grafana's
 * HMAC-SHA256 signature of `body` made with the shared secret, and, when a
 * timestamp header is configured, a signed Unix timestamp within the allowed skew.
 */
export function requireGrafanaSignature(
  headers: HeaderMap,
  body: Buffer,
  signing: GrafanaSigning,
  nowMs: number,
): void {
  const signature = single(headers, signing.signatureHeader);
  if (signature === undefined || signature === '') {
    throw new UnauthenticatedError(`missing HMAC signature header ${signing.signatureHeader}`);
  }
  let timestamp: string | undefined;
  if (signing.timestampHeader !== undefined) {
    timestamp = single(headers, signing.timestampHeader);
    if (timestamp === undefined || !/^[0-9]{1,12}$/.test(timestamp)) {
      throw new UnauthenticatedError(
        `missing or malformed signed timestamp header ${signing.timestampHeader} (Unix seconds)`,
      );
    }
    if (Math.abs(nowMs - Number(timestamp) * 1000) > signing.maxSkewMs) {
      throw new UnauthenticatedError(
        `signed timestamp ${timestamp} is more than ${signing.maxSkewMs} ms away from now`,
      );
    }
  }
  const expected = grafanaSignature(signing.secret, body, timestamp);
  if (!sameSecret(signature.trim().toLowerCase(), expected)) {
    throw new UnauthenticatedError(`HMAC signature in ${signing.signatureHeader} does not match`);
  }
}
