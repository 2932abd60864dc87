import { randomBytes } from 'node:crypto';

import { sha256Hex } from '../common/canonical-json.js';

/** Every token starts with this, so secret scanners and humans recognise it. */
export const tokenPrefix = 'cdt_';

/** A new random API token: `cdt_` + 32 random bytes, base64url. */
export function generateApiToken(): string {
  return `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
}

/** What the database stores instead of the token: its hex sha256. */
export function hashApiToken(token: string): string {
  return sha256Hex(token);
}

/**
 * The token of an `Authorization` header value, or undefined when the header is
 * missing or not a bearer credential.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header ?? '');
  return match?.[1];
}
