import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDecisionLogRecord, readDecisionLogRecord } from './index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What reading a record meant before: parse it all, then serialize the input for evaluation. */
function reference(bytes: Uint8Array) {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, violations: [{ field: '(root)', problem: 'not JSON' }] };
  }
  const parsed = parseDecisionLogRecord(value);
  if (!parsed.ok) return parsed;
  const { input, ...rest } = parsed.record;
  return { ok: true, record: { ...rest, inputJson: JSON.stringify(input) } };
}

/**
 * The outcome with the input as text. Bytes handed on as recorded may differ from
 * the reference only in whitespace, so they are compared once re-serialized.
 */
function read(bytes: Uint8Array) {
  const outcome = readDecisionLogRecord(bytes);
  if (!outcome.ok) return outcome;
  const { inputJson, ...rest } = outcome.record;
  const asText = decoder.decode(inputJson);
  const asRecorded = inputJson.buffer === bytes.buffer;
  return {
    ok: true,
    record: { ...rest, inputJson: asRecorded ? JSON.stringify(JSON.parse(asText)) : asText },
  };
}

const input = {
  schema_version: '2026-05-20',
  principal: { type: 'Application', id: 'app-1', zone_id: 'zone-1', labels: ['a', 'b'] },
  resource: { identifier: 'resource://svc-1', scopes: ['read', 'write'] },
  delegation_edge: null,
  context: { challenge_resolved: false, depth: 2, requested_scopes: ['read'] },
};
const text = (inputJson: string, extra = '') =>
  `{"decision_id":"dec-1","zone_id":"zone-1","revision":"live","timestamp":1780000000000,` +
  `"input":${inputJson},"result":{"decision":"allow","evaluation_status":"complete"}${extra}}`;

describe('readDecisionLogRecord', () => {
  it('hands on the recorded input bytes as they are, without copying them', () => {
    const bytes = encoder.encode(text(JSON.stringify(input)));
    const outcome = readDecisionLogRecord(bytes);
    assert.ok(outcome.ok);
    assert.equal(outcome.record.inputJson.buffer, bytes.buffer, 'a view into the record');
    assert.deepEqual(JSON.parse(decoder.decode(outcome.record.inputJson)), input);
    assert.deepEqual(read(bytes), reference(bytes));
  });

  it('reads every record exactly as parsing it whole would, whichever path it takes', () => {
    const records = [
      text(JSON.stringify(input)),
      JSON.stringify(
        { decision_id: 'd', zone_id: 'z', revision: 'r', timestamp: 1, input, result: null },
        null,
        2,
      ),
      // Numbers that do not print back as written, non-ASCII text and escapes.
      text('{"n":1.0,"e":1e2,"z":-0,"big":12345678901234567890,"neg":-42}'),
      text('{"name":"Zoë","esc":"\\u00e9\\ud83d\\ude00","slash":"a\\/b","tab":"\\t"}'),
      text('{"deep":' + '['.repeat(1_000) + ']'.repeat(1_000) + '}'),
      text('{"empty":{},"list":[],"t":true,"f":false,"n":null}'),
      `{"decision_id":"déc-1","zone_id":"zone-1","revision":"live","timestamp":"2026-11-01T12:00:00Z","input":{}, "result":{}}`,
      // Repeated and escaped keys: the last one wins, as in JSON.parse.
      text('{"a":1}', ',"input":{"b":2}'),
      text('{"a":1}', ',"\\u0069nput":7'),
      text('{"a":1,"a":2}'),
      // Records that are not valid: the same violations either way.
      text('[1,2]'),
      text('null'),
      text('"text"'),
      '{"zone_id":"zone-1","revision":"live","timestamp":-1,"input":{"a":1}}',
      '{}',
      '[]',
      '',
      'not json',
      text('{"a":1}').slice(0, -3),
      text('{"a":1}') + 'x',
      text('{"a":01}'),
      text('{"a":1.}'),
      text('{"a":"\u0001"}'),
      text('{"a":"\\x"}'),
      text('{"a":[1,]}'),
      text('{"a":tru}'),
      '\ufeff' + text('{"a":1}'),
      ' \n' + text('{"a":1}') + '\r\n\t',
    ];
    for (const record of records) {
      const bytes = encoder.encode(record);
      assert.deepEqual(read(bytes), reference(bytes), record.slice(0, 120));
    }
  });

  it('serializes inputs whose recorded text would evaluate differently', () => {
    for (const inputJson of [
      '{"n":1.0}',
      '{"e":1e2}',
      '{"z":-0}',
      '{"big":12345678901234567890}',
      '{"name":"Zoë"}',
      '{"esc":"\\u00e9"}',
    ]) {
      const bytes = encoder.encode(text(inputJson));
      const outcome = readDecisionLogRecord(bytes);
      assert.ok(outcome.ok);
      assert.notEqual(outcome.record.inputJson.buffer, bytes.buffer, inputJson);
      assert.equal(
        decoder.decode(outcome.record.inputJson),
        JSON.stringify(JSON.parse(inputJson)),
        inputJson,
      );
    }
  });

  it('reads invalid UTF-8 in the input as the replacement character, like decoding first', () => {
    const head = encoder.encode(text('{"a":"x'));
    const bytes = new Uint8Array([...head.subarray(0, head.length - 1), 0xff, 0x22, 0x7d, 0x7d]);
    const fixed = encoder.encode(
      decoder.decode(bytes).replace(/,"result".*$/, ',"result":{"decision":"allow"}}'),
    );
    assert.deepEqual(read(fixed), reference(fixed));
  });

  it('names every bad field of a readable record', () => {
    const outcome = readDecisionLogRecord(
      encoder.encode('{"decision_id":"","timestamp":"yesterday","input":{"a":1}}'),
    );
    assert.equal(outcome.ok, false);
    assert.deepEqual(!outcome.ok && outcome.violations.map((v) => v.field), [
      'decision_id',
      'zone_id',
      'revision',
      'timestamp',
      'result',
    ]);
  });
});
