import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { FailedPreconditionError } from '@caracal-deploy/errors';

/** An ES256 key read from a PEM file; `privateKey` is absent when the file holds only a public key. */
export interface Es256KeyPair {
  readonly file: string;
  readonly privateKey?: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI PEM of the public half. */
  readonly publicKeyPem: string;
}

/** How {@link loadEs256KeyFile} treats a missing file. */
export interface Es256KeyFileOptions {
  /** The setting that names the file, for error messages. */
  readonly setting: string;
  /** DEV ONLY: generate a P-256 private key (mode 0600) when the file is missing. */
  readonly autogenerate: boolean;
  /** Told when a key was generated. */
  readonly warn: (message: string) => void;
}

/**
 * Reads a P-256 key from `file`, which may hold a private key (its public half is
 * derived) or only a public key; generates a private key there when it is
 * missing and `autogenerate` is on. Throws naming the setting when unusable.
 */
export async function loadEs256KeyFile(
  file: string,
  options: Es256KeyFileOptions,
): Promise<Es256KeyPair> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT' || !options.autogenerate) {
      throw new FailedPreconditionError(
        `${options.setting}: ${file} is not readable (${(error as Error).message}); expected an ES256 (P-256) PEM key`,
        { cause: error, details: { key_file: file } },
      );
    }
    pem = await generateKeyFile(file);
    options.warn(
      `generated a development ES256 key at ${file} (${options.setting}); do not use it in production`,
    );
  }
  try {
    const isPrivate = /-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem);
    const privateKey = isPrivate ? createPrivateKey(pem) : undefined;
    const publicKey = createPublicKey(privateKey ?? pem);
    if (
      publicKey.asymmetricKeyType !== 'ec' ||
      publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error(
        `expected an EC P-256 key, got ${publicKey.asymmetricKeyType ?? 'unknown'} ${publicKey.asymmetricKeyDetails?.namedCurve ?? ''}`.trim(),
      );
    }
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    return { file, publicKey, publicKeyPem, ...(privateKey ? { privateKey } : {}) };
  } catch (error) {
    throw new FailedPreconditionError(
      `${options.setting}: ${file} is not a usable ES256 key: ${(error as Error).message}`,
      { cause: error, details: { key_file: file } },
    );
  }
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
