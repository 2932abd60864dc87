import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { packageOf, ruleDefinition, scanRego } from './rego-lexer.js';

const source = [
  'package caracal.authz # "not a string"',
  '',
  'import rego.v1',
  '',
  'default result := {"decision": "deny"}',
  '',
  'ids := ["resource://api", `raw\\n`, "esc\\"aped"] # result := 1',
].join('\n');

describe('scanRego', () => {
  it('finds string literals with 1-based positions and blanks them and comments', () => {
    const scanned = scanRego(source);
    assert.deepEqual(
      scanned.strings.map(({ value, line, column }) => [value, line, column]),
      [
        ['decision', 5, 20],
        ['deny', 5, 32],
        ['resource://api', 7, 9],
        ['raw\\n', 7, 27],
        ['esc"aped', 7, 36],
      ],
    );
    assert.equal(scanned.code.length, source.length);
    assert.doesNotMatch(scanned.code, /resource:|not a string|result := 1/);
  });

  it('reads the package and finds top-level rule definitions', () => {
    const scanned = scanRego(source);
    assert.deepEqual(packageOf(scanned), { name: 'caracal.authz', line: 1, column: 1 });
    assert.deepEqual(ruleDefinition(scanned, 'result'), { line: 5, column: 1 });
    assert.equal(ruleDefinition(scanned, 'allow'), undefined);
    assert.equal(packageOf(scanRego('# package x\n')), undefined);
  });
});
