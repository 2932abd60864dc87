import { createHash } from 'node:crypto';
import type { SignedBundle } from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import {
  loadWasmPolicy,
  readBundle,
  verifyBundleSignature,
  type WasmPolicy,
} from '@caracal-deploy/opa';

/** The signing key bundles must verify against. */
export interface TrustedKey {
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/**
 * Checks a bundle sent for simulation before anything evaluates it: present,
 * hashing to the sha256 it claims, signed by the trusted key, and carrying the
 * expected revision. Every failure is an invalid argument naming the field
 * (`field` is e.g. `candidate`). Returns the verified bytes.
 */
export function verifySignedBundle(
  field: string,
  signed: SignedBundle | undefined,
  key: TrustedKey,
): Uint8Array {
  const fail = (path: string, problem: string) =>
    new InvalidArgumentError(`the ${field} bundle cannot be used`, {
      violations: [{ field: `${field}${path}`, problem }],
    });
  if (!signed || signed.bundle.byteLength === 0) throw fail('.bundle', 'required, got nothing');
  const sha = createHash('sha256').update(signed.bundle).digest('hex');
  if (sha !== signed.bundleSha256) {
    throw fail(
      '.bundle_sha256',
      `the bytes hash to ${sha}, expected ${signed.bundleSha256 || '(nothing)'}`,
    );
  }
  let revision: string | undefined;
  try {
    revision = verifyBundleSignature(signed.bundle, key.publicKeyPem, { keyId: key.keyId }).manifest
      .revision;
  } catch (error) {
    throw fail(
      '.bundle',
      `signature check failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (revision !== signed.revision) {
    throw fail(
      '.revision',
      `the bundle's revision is ${JSON.stringify(revision ?? null)}, expected ${signed.revision || '(nothing)'}`,
    );
  }
  return signed.bundle;
}

/** {@link verifySignedBundle}, then instantiates the bundle's policy.wasm for evaluation here. */
export async function openSignedBundle(
  field: string,
  signed: SignedBundle | undefined,
  key: TrustedKey,
): Promise<WasmPolicy> {
  const bundle = readBundle(verifySignedBundle(field, signed, key));
  return loadWasmPolicy(bundle.wasm, bundle.data);
}
