import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { FailedPreconditionError } from '@caracal-deploy/errors';

import { loadBundleSigningKey } from './bundle-signing-key.js';

describe('loadBundleSigningKey', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caracal-signing-key-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('generates a 0600 P-256 key once when allowed, warning about it', async () => {
    const warnings: string[] = [];
    const keyFile = join(dir, 'nested', 'key.pem');
    const options = {
      keyFile,
      keyId: 'k',
      autogenerate: true,
      warn: (m: string) => warnings.push(m),
    };
    const first = await loadBundleSigningKey(options);
    const second = await loadBundleSigningKey(options);
    assert.equal(first.publicKeyPem, second.publicKeyPem);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /development/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal(first.algorithm, 'ES256');
  });

  it('refuses a missing key without autogeneration, and a non-P-256 key', async () => {
    await assert.rejects(
      loadBundleSigningKey({
        keyFile: join(dir, 'absent.pem'),
        keyId: 'k',
        autogenerate: false,
        warn: () => undefined,
      }),
      (error: unknown) =>
        error instanceof FailedPreconditionError && /absent\.pem/.test(error.message),
    );
    const rsaFile = join(dir, 'rsa.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(rsaFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await assert.rejects(
      loadBundleSigningKey({
        keyFile: rsaFile,
        keyId: 'k',
        autogenerate: false,
        warn: () => undefined,
      }),
      /expected an EC P-256 key, got rsa/,
    );
  });
});
