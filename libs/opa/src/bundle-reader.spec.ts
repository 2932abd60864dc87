import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { readBundle } from './index.js';
import { ustarGz as tarGz } from './tar-gz.test-support.js';

const wasmBytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe('readBundle', () => {
  it('returns the wasm module, manifest, merged data and every file', () => {
    const bundle = readBundle(
      tarGz([
        { name: '/data.json', content: '{"caracal":{"roles":{"admin":["write"]}}}' },
        { name: '/caracal/extra/data.json', content: '{"limits":[1,2]}' },
        { name: '/policy.wasm', content: wasmBytes },
        { name: 'authz.rego', prefix: '/caracal', content: 'package caracal.authz\n' },
        {
          name: '/.manifest',
          content: JSON.stringify({
            revision: 'sha-1',
            roots: [''],
            wasm: [{ entrypoint: 'caracal/authz/result', module: '/policy.wasm' }],
          }),
        },
      ]),
    );
    assert.deepEqual(bundle.wasm, wasmBytes);
    assert.equal(bundle.manifest.revision, 'sha-1');
    assert.deepEqual(bundle.data, {
      caracal: { roles: { admin: ['write'] }, extra: { limits: [1, 2] } },
    });
    assert.deepEqual([...bundle.files.keys()].sort(), [
      '.manifest',
      'caracal/authz.rego',
      'caracal/extra/data.json',
      'data.json',
      'policy.wasm',
    ]);
  });

  it('uses the module the manifest names', () => {
    const bundle = readBundle(
      tarGz([
        { name: '/compiled/authz.wasm', content: wasmBytes },
        {
          name: '/.manifest',
          content: JSON.stringify({
            wasm: [{ entrypoint: 'a/b', module: '/compiled/authz.wasm' }],
          }),
        },
      ]),
    );
    assert.deepEqual(bundle.wasm, wasmBytes);
    assert.deepEqual(bundle.data, {});
  });

  it('rejects a bundle without wasm, naming how to build one', () => {
    assert.throws(
      () => readBundle(tarGz([{ name: '/data.json', content: '{}' }])),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        /has no policy\.wasm; build it with `opa build -t wasm/.test(error.message),
    );
  });

  it('rejects data that is not gzip, a corrupted header and broken JSON', () => {
    assert.throws(() => readBundle(Buffer.from('plain text')), /not gzip data/);
    const tar = gunzipSync(tarGz([{ name: '/policy.wasm', content: wasmBytes }]));
    // Flip one byte of the name after the checksum was computed.
    tar[1] = (tar[1] ?? 0) ^ 0xff;
    const corrupted = gzipSync(tar);
    assert.throws(() => readBundle(corrupted), /bad checksum/);
    assert.throws(
      () =>
        readBundle(
          tarGz([
            { name: '/policy.wasm', content: wasmBytes },
            { name: '/data.json', content: '{' },
          ]),
        ),
      /data\.json is not valid JSON/,
    );
  });
});
