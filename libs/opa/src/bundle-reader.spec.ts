import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { readBundle } from './index.js';

/** A minimal ustar writer, the counterpart of the reader under test. */
function tarGz(
  entries: readonly { name: string; content: string | Uint8Array; prefix?: string }[],
): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, content, prefix = '' } of entries) {
    const body = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.write('00000000000\0', 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    header.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

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
