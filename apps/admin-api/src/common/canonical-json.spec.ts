import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { canonicalJson, canonicalSha256, sha256Hex } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } }),
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('gives equal JSON values the same sha256 whatever their key order', () => {
    const one = canonicalSha256({ modules: [{ path: 'a.rego', source: 's' }], data: [] });
    const two = canonicalSha256({ data: [], modules: [{ source: 's', path: 'a.rego' }] });
    assert.equal(one, two);
    assert.equal(one, sha256Hex('{"data":[],"modules":[{"path":"a.rego","source":"s"}]}'));
  });

  it('keeps array order significant and drops undefined members', () => {
    assert.notEqual(canonicalSha256([1, 2]), canonicalSha256([2, 1]));
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  });

  it('refuses values JSON cannot represent instead of hashing them as null', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), /not a JSON number/);
    assert.throws(() => canonicalJson({ f: () => 1 }), /not a JSON value/);
  });

  it('hashes the known sha256 test vector', () => {
    assert.equal(
      sha256Hex('abc'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
