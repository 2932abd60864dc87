import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { FailedPreconditionError } from '@caracal-deploy/errors';

import { loadEs256KeyFile } from './es256-key-file.js';

describe('loadEs256KeyFile', () => {
  let dir: string;
  const warnings: string[] = [];
  const options = (autogenerate: boolean) => ({
    setting: 'TEST_KEY_FILE',
    autogenerate,
    warn: (message: string) => warnings.push(message),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sts-keys-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('derives the public key from a private key file, and reads a public-only file', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeFile(join(dir, 'private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'public.pem'), spki);
    const fromPrivate = await loadEs256KeyFile(join(dir, 'private.pem'), options(false));
    assert.ok(fromPrivate.privateKey);
    assert.equal(fromPrivate.publicKeyPem, spki);
    const fromPublic = await loadEs256KeyFile(join(dir, 'public.pem'), options(false));
    assert.equal(fromPublic.privateKey, undefined);
    assert.equal(fromPublic.publicKeyPem, spki);
  });

  it('generates a missing key (mode 0600) only when allowed, and names the setting otherwise', async () => {
    const missing = join(dir, 'nested', 'generated.pem');
    await assert.rejects(
      loadEs256KeyFile(missing, options(false)),
      (error: unknown) =>
        error instanceof FailedPreconditionError && /TEST_KEY_FILE/.test(error.message),
    );
    const generated = await loadEs256KeyFile(missing, options(true));
    assert.ok(generated.privateKey);
    assert.equal((await stat(missing)).mode & 0o777, 0o600);
    assert.equal(warnings.length, 1);
  });

  it('refuses a key on another curve', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    await writeFile(join(dir, 'p384.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await assert.rejects(
      loadEs256KeyFile(join(dir, 'p384.pem'), options(false)),
      (error: unknown) => error instanceof FailedPreconditionError && /P-256/.test(error.message),
    );
  });
});
