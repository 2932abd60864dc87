import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { BuiltinRules, isBlockedBuiltin, loadWasmUnsupportedBuiltins } from './builtin-rules.js';

// dist/builtins → the repository root is four levels up.
const repo = new URL('../../../../', import.meta.url);

describe('builtin rules', () => {
  it('the derived wasm-unsupported list matches the pinned OPA and the installed opa-wasm', () => {
    const list = loadWasmUnsupportedBuiltins();
    const pinned = /^OPA_VERSION=v?(\S+)$/m.exec(
      readFileSync(new URL('tools/infra/lib/opa.sh', repo), 'utf8'),
    )?.[1];
    assert.equal(
      list.opa_version,
      pinned,
      'rerun `node tools/opa/derive-wasm-builtins.mjs` after changing the pinned OPA',
    );
    const sdk = JSON.parse(
      readFileSync(new URL('node_modules/@open-policy-agent/opa-wasm/package.json', repo), 'utf8'),
    ) as { version: string };
    assert.equal(list.opa_wasm_sdk_version, sdk.version);
    assert.ok(list.builtins.length > 0);
    assert.ok(list.builtins.every((name) => typeof list.reasons[name] === 'string'));
  });

  it('blocks the DESIGN.md list, every net.cidr_* builtin included', () => {
    for (const name of ['http.send', 'net.lookup_ip_addr', 'net.cidr_contains', 'net.cidr_merge']) {
      assert.equal(isBlockedBuiltin(name), true, name);
    }
    assert.equal(isBlockedBuiltin('net.cidrs'), false);
    assert.equal(isBlockedBuiltin('count'), false);
  });

  it('classifies and strips rejected builtins from capabilities', () => {
    const rules = new BuiltinRules({
      opa_version: '1.0.0',
      opa_wasm_sdk_version: '1.0.0',
      builtins: ['hex.encode', 'http.send'],
      reasons: {},
    });
    assert.equal(rules.verdict('http.send'), 'blocked');
    assert.equal(rules.verdict('hex.encode'), 'wasm_unsupported');
    assert.equal(rules.verdict('count'), 'allowed');
    const restricted = rules.restrict({
      builtins: [{ name: 'count' }, { name: 'hex.encode' }, { name: 'time.now_ns' }],
      features: ['x'],
    });
    assert.deepEqual(restricted, { builtins: [{ name: 'count' }], features: ['x'] });
  });
});
