import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { verifyBundleSignature } from './index.js';
import { tarGz } from './tar-gz.test-support.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const otherPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
// Pretty-printed on purpose: OPA hashes JSON canonically, not byte for byte.
const data = '{\n  "caracal": { "grants": [1], "a": true }\n}';
const manifest = '{"revision":"sha-1","roots":[""]}';

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Signs like `opa build --signing-alg ES256`: a JWS over the files' digests. */
function signedFiles(extra: Record<string, string> = {}): Map<string, Uint8Array> {
  const files = [
    { name: 'policy.wasm', hash: sha256(wasm), algorithm: 'SHA-256' },
    {
      name: 'data.json',
      hash: sha256('{"caracal":{"a":true,"grants":[1]}}'),
      algorithm: 'SHA-256',
    },
    { name: '.manifest', hash: sha256('{"revision":"sha-1","roots":[""]}'), algorithm: 'SHA-256' },
  ];
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ files, keyid: 'k1', ...extra })).toString(
    'base64url',
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  }).toString('base64url');
  return new Map<string, Uint8Array>([
    ['policy.wasm', wasm],
    ['data.json', Buffer.from(data)],
    ['.manifest', Buffer.from(manifest)],
    [
      '.signatures.json',
      Buffer.from(JSON.stringify({ signatures: [`${header}.${payload}.${signature}`] })),
    ],
  ]);
}

function rejectsNaming(
  bundle: Uint8Array,
  key: string,
  field: string,
  problem: RegExp,
  keyId?: string,
) {
  assert.throws(
    () => verifyBundleSignature(bundle, key, keyId === undefined ? {} : { keyId }),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.violations[0]?.field, field);
      assert.match(error.violations[0]?.problem ?? '', problem);
      return true;
    },
  );
}

describe('verifyBundleSignature', () => {
  it('accepts a correctly signed bundle and returns its manifest and key id', () => {
    const verified = verifyBundleSignature(tarGz(signedFiles()), publicPem, { keyId: 'k1' });
    assert.equal(verified.manifest.revision, 'sha-1');
    assert.equal(verified.keyId, 'k1');
    assert.deepEqual([...verified.files].sort(), ['.manifest', 'data.json', 'policy.wasm']);
  });

  it('names a tampered data.json and a tampered policy.wasm', () => {
    const files = signedFiles();
    files.set('data.json', Buffer.from('{"caracal":{"a":false,"grants":[1]}}'));
    rejectsNaming(tarGz(files), publicPem, 'data.json', /digest mismatch/);
    const wasmTampered = signedFiles();
    wasmTampered.set('policy.wasm', new Uint8Array([...wasm, 0]));
    rejectsNaming(tarGz(wasmTampered), publicPem, 'policy.wasm', /digest mismatch/);
  });

  it('rejects an unsigned extra file, a missing file, another key and another key id', () => {
    const extra = signedFiles();
    extra.set('evil.rego', Buffer.from('package x'));
    rejectsNaming(tarGz(extra), publicPem, 'evil.rego', /not covered by the signature/);
    const missing = signedFiles();
    missing.delete('data.json');
    rejectsNaming(tarGz(missing), publicPem, 'data.json', /missing from the bundle/);
    rejectsNaming(tarGz(signedFiles()), otherPem, '.signatures.json', /does not verify/);
    rejectsNaming(tarGz(signedFiles()), publicPem, '.signatures.json', /expected "k2"/, 'k2');
  });

  it('rejects a bundle without signatures', () => {
    const unsigned = signedFiles();
    unsigned.delete('.signatures.json');
    rejectsNaming(tarGz(unsigned), publicPem, '.signatures.json', /not signed/);
  });
});
