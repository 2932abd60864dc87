import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { FailedPreconditionError } from '@caracal-deploy/errors';

/** The JWS algorithm bundles are signed with: ECDSA P-256 with SHA-256. */
export const bundleSigningAlgorithm = 'ES256';

/** The key bundles are signed with, ready for `opa build --signing-key`. */
export interface BundleSigningKey {
  readonly keyPath: string;
  readonly keyId: string;
  readonly algorithm: typeof bundleSigningAlgorithm;
  /** SPKI PEM of the public half, what verifiers (STS, tests) need. */
  readonly publicKeyPem: string;
}

/** Where the key lives and whether a missing one may be generated (development only). */
export interface BundleSigningKeyOptions {
  readonly keyFile: string;
  readonly keyId: string;
  readonly autogenerate: boolean;
  /** Told when a key was generated. */
  readonly warn: (message: string) => void;
}

/**
 * Loads the P-256 signing key from `keyFile`. When the file does not exist and
 * `autogenerate` is on (a development convenience), generates one there with mode
 * 0600 and warns: such a key is not shared with any verifier.
 */
export async function loadBundleSigningKey(
  options: BundleSigningKeyOptions,
): Promise<BundleSigningKey> {
  let pem: string;
  try {
    pem = await readFile(options.keyFile, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT' || !options.autogenerate) {
      throw new FailedPreconditionError(
        `bundle signing key ${options.keyFile} is not readable (${(error as Error).message}); set CARACAL_BUNDLE_SIGNING_KEY_FILE to a P-256 private key PEM`,
        { cause: error, details: { key_file: options.keyFile } },
      );
    }
    pem = await generateKeyFile(options.keyFile);
    options.warn(
      `generated a new development bundle signing key at ${options.keyFile} (CARACAL_BUNDLE_SIGNING_KEY_AUTOGENERATE); do not use it in production`,
    );
  }
  let publicKeyPem: string;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`expected an EC P-256 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
    }
    publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  } catch (error) {
    throw new FailedPreconditionError(
      `bundle signing key ${options.keyFile} is not a usable ${bundleSigningAlgorithm} key: ${(error as Error).message}`,
      { cause: error, details: { key_file: options.keyFile } },
    );
  }
  return {
    keyPath: options.keyFile,
    keyId: options.keyId,
    algorithm: bundleSigningAlgorithm,
    publicKeyPem,
  };
}

async function generateKeyFile(path: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // `wx`: never overwrite a key another process generated meanwhile.
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    return pem;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return readFile(path, 'utf8');
    throw error;
  }
}
