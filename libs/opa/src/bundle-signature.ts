import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { readBundle, type BundleManifest } from './bundle-reader.js';

/** Options of {@link verifyBundleSignature}. */
export interface VerifyBundleOptions {
  /** When set, the signature must name this key id (JWS `kid` or the payload's `keyid`). */
  readonly keyId?: string;
}

/** What a verified bundle proved: its manifest and the files the signature covers. */
export interface VerifiedBundle {
  readonly manifest: BundleManifest;
  /** Key id the signature names, if any. */
  readonly keyId?: string;
  /** Paths of the signed files, e.g. `policy.wasm`, `data.json`, `.manifest`. */
  readonly files: readonly string[];
}

interface SignedFile {
  readonly name?: unknown;
  readonly hash?: unknown;
  readonly algorithm?: unknown;
}

// JWS algorithms this verifier accepts, with the node:crypto digest each uses.
const algorithms: Readonly<Record<string, { digest: string; ec: boolean }>> = {
  ES256: { digest: 'sha256', ec: true },
  ES384: { digest: 'sha384', ec: true },
  ES512: { digest: 'sha512', ec: true },
  RS256: { digest: 'sha256', ec: false },
  RS384: { digest: 'sha384', ec: false },
  RS512: { digest: 'sha512', ec: false },
};

/**
 * Verifies an OPA bundle signed by `opa build --signing-key` (`.signatures.json`,
 * OPA's format: one compact JWS whose payload lists every file with its SHA-256)
 * against `publicKeyPem`: the JWS signature, the key id when asked, every file's
 * digest, and that no file other than `.signatures.json` is unsigned. Returns the
 * manifest; throws {@link InvalidArgumentError} naming the file or part that failed.
 */
export function verifyBundleSignature(
  bundleBytes: Uint8Array,
  publicKeyPem: string,
  options: VerifyBundleOptions = {},
): VerifiedBundle {
  const bundle = readBundle(bundleBytes);
  const signaturesBytes = bundle.files.get('.signatures.json');
  if (signaturesBytes === undefined) throw rejected('.signatures.json', 'the bundle is not signed');
  let signatures: unknown;
  try {
    signatures = JSON.parse(Buffer.from(signaturesBytes).toString('utf8'));
  } catch {
    throw rejected('.signatures.json', 'is not JSON');
  }
  const tokens = (signatures as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(tokens) || tokens.length !== 1 || typeof tokens[0] !== 'string') {
    throw rejected('.signatures.json', 'expected exactly one JWS in "signatures"');
  }
  const parts = tokens[0].split('.');
  if (parts.length !== 3) throw rejected('.signatures.json', 'the JWS is not in compact form');
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeJson(headerPart, 'JWS header') as { alg?: unknown; kid?: unknown };
  const payload = decodeJson(payloadPart, 'JWS payload') as {
    files?: unknown;
    keyid?: unknown;
  };

  const alg = typeof header.alg === 'string' ? header.alg : '';
  const algorithm = algorithms[alg];
  if (algorithm === undefined) {
    throw rejected('.signatures.json', `unsupported JWS algorithm ${JSON.stringify(header.alg)}`);
  }
  const key = createPublicKey(publicKeyPem);
  const valid = verifySignature(
    algorithm.digest,
    Buffer.from(`${headerPart}.${payloadPart}`),
    algorithm.ec ? { key, dsaEncoding: 'ieee-p1363' } : key,
    Buffer.from(signaturePart, 'base64url'),
  );
  if (!valid) {
    throw rejected('.signatures.json', `the ${alg} signature does not verify with the given key`);
  }

  const keyId =
    typeof header.kid === 'string'
      ? header.kid
      : typeof payload.keyid === 'string'
        ? payload.keyid
        : undefined;
  if (options.keyId !== undefined && keyId !== options.keyId) {
    throw rejected(
      '.signatures.json',
      `signed with key id ${JSON.stringify(keyId ?? null)}, expected ${JSON.stringify(options.keyId)}`,
    );
  }

  if (!Array.isArray(payload.files)) throw rejected('.signatures.json', 'the payload has no files');
  const signed = new Map<string, string>();
  for (const file of payload.files as SignedFile[]) {
    if (typeof file.name !== 'string' || typeof file.hash !== 'string') {
      throw rejected('.signatures.json', 'a signed file entry lacks name or hash');
    }
    if (file.algorithm !== undefined && file.algorithm !== 'SHA-256') {
      throw rejected(file.name, `unsupported digest algorithm ${JSON.stringify(file.algorithm)}`);
    }
    signed.set(file.name.replace(/^\/+/, ''), file.hash);
  }
  for (const [name, hash] of signed) {
    const content = bundle.files.get(name);
    if (content === undefined) throw rejected(name, 'is signed but missing from the bundle');
    const actual = fileDigest(name, content);
    if (actual !== hash) {
      throw rejected(name, `digest mismatch: signed ${hash}, bundle has ${actual}`);
    }
  }
  for (const name of bundle.files.keys()) {
    if (name !== '.signatures.json' && !signed.has(name)) {
      throw rejected(name, 'is in the bundle but not covered by the signature');
    }
  }
  return {
    manifest: bundle.manifest,
    ...(keyId === undefined ? {} : { keyId }),
    files: [...signed.keys()],
  };
}

/**
 * OPA's file digest: SHA-256 of the raw bytes, except for JSON documents (`*.json`,
 * `.manifest`), which OPA hashes in a canonical form (keys sorted, no whitespace) so
 * that formatting does not change the signature.
 */
function fileDigest(name: string, content: Uint8Array): string {
  const hash = createHash('sha256');
  if (name.endsWith('.json') || name === '.manifest' || name.endsWith('/.manifest')) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(content).toString('utf8'));
    } catch {
      throw rejected(name, 'is not JSON');
    }
    hash.update(canonicalJson(value));
  } else {
    hash.update(content);
  }
  return hash.digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function decodeJson(part: string, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw rejected('.signatures.json', `the ${what} is not base64url JSON`);
  }
}

function rejected(file: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`bundle signature rejected: ${file} ${problem}`, {
    violations: [{ field: file, problem }],
  });
}
