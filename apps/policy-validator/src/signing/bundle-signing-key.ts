import { FailedPreconditionError } from '@caracal-deploy/errors';
import { loadEs256KeyFile } from '@caracal-deploy/keys';

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
  const key = await loadEs256KeyFile(options.keyFile, {
    setting: 'CARACAL_BUNDLE_SIGNING_KEY_FILE',
    autogenerate: options.autogenerate,
    warn: options.warn,
  });
  if (!key.privateKey) {
    throw new FailedPreconditionError(
      `CARACAL_BUNDLE_SIGNING_KEY_FILE: ${options.keyFile} holds only a public key; bundles are signed with the private key`,
      { details: { key_file: options.keyFile } },
    );
  }
  return {
    keyPath: options.keyFile,
    keyId: options.keyId,
    algorithm: bundleSigningAlgorithm,
    publicKeyPem: key.publicKeyPem,
  };
}
