import type { FieldViolation } from '@caracal-deploy/errors';

import { parseDecisionLogRecord } from './decision-log-record.js';

/**
 * A decision-log record read from its raw bytes, with its input kept as JSON
 * bytes: evaluating needs the input serialized, so it is never parsed and
 * re-serialized on the way.
 */
export interface DecisionLogRecordBytes {
  readonly decisionId: string;
  readonly zoneId: string;
  readonly revision: string;
  readonly timestampMs: number;
  /** The input object as UTF-8 JSON; may be a view into the bytes that were read. */
  readonly inputJson: Uint8Array;
  readonly result: unknown;
}

/** The outcome of {@link readDecisionLogRecord}: a record, or every problem found. */
export type ReadDecisionLogRecord =
  | { readonly ok: true; readonly record: DecisionLogRecordBytes }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] };

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Reads one decision-log message value (UTF-8 JSON) with the same outcome as
 * `JSON.parse` followed by {@link parseDecisionLogRecord}, and the input as the
 * JSON that `JSON.stringify` of the parsed input would evaluate to.
 *
 * The input's bytes are handed on as they are when a strict scan shows that is
 * exact: well-formed JSON, ASCII only, and integers that survive a round trip
 * through a double. Anything else takes the parse-and-stringify path, so the
 * result never depends on which path was taken.
 */
export function readDecisionLogRecord(bytes: Uint8Array): ReadDecisionLogRecord {
  const span = inputSpan(bytes);
  if (span !== undefined) {
    let shell: unknown;
    try {
      shell = JSON.parse(
        `${decoder.decode(bytes.subarray(0, span.start))}{}${decoder.decode(bytes.subarray(span.end))}`,
      );
    } catch {
      shell = undefined;
    }
    if (shell !== undefined) {
      const parsed = parseDecisionLogRecord(shell);
      if (!parsed.ok) return parsed;
      const { decisionId, zoneId, revision, timestampMs, result } = parsed.record;
      return {
        ok: true,
        record: {
          decisionId,
          zoneId,
          revision,
          timestampMs,
          result,
          inputJson: bytes.subarray(span.start, span.end),
        },
      };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, violations: [{ field: '(root)', problem: 'not JSON' }] };
  }
  const parsed = parseDecisionLogRecord(value);
  if (!parsed.ok) return parsed;
  const { input, ...rest } = parsed.record;
  return { ok: true, record: { ...rest, inputJson: encoder.encode(JSON.stringify(input)) } };
}

// Byte values the scanner looks at.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
/** Nesting deeper than this is left to `JSON.parse`. */
const maxDepth = 256;
/** Integers with at most this many digits are exact as doubles and print back unchanged. */
const maxExactDigits = 15;
const inputKey = encoder.encode('"input"');

/**
 * Thrown inside the scanner when the fast path does not apply; never escapes it.
 * One shared instance: a record leaving the fast path costs no stack trace.
 */
class NotScannable extends Error {}
const notScannable = new NotScannable('not on the fast path');

/**
 * Where the top-level `input` object's JSON lies in a record, or `undefined`
 * when the record is not on the fast path (malformed, no or repeated `input`,
 * an input that is not an object or not exact as it is).
 */
function inputSpan(bytes: Uint8Array): { start: number; end: number } | undefined {
  const scanner = new Scanner(bytes);
  try {
    return scanner.record();
  } catch (error) {
    if (error === notScannable) return undefined;
    throw error;
  }
}

class Scanner {
  private pos = 0;
  /** Set while scanning the input: only exact, ASCII JSON may be passed on as it is. */
  private strict = false;

  constructor(private readonly bytes: Uint8Array) {}

  record(): { start: number; end: number } | undefined {
    const { bytes } = this;
    let span: { start: number; end: number } | undefined;
    this.space();
    this.expect(OPEN_OBJECT);
    this.space();
    if (bytes[this.pos] === CLOSE_OBJECT) throw notScannable;
    for (;;) {
      const keyStart = this.pos;
      this.string();
      const isInput = this.isInputKey(keyStart, this.pos);
      this.space();
      this.expect(COLON);
      this.space();
      const start = this.pos;
      if (isInput) {
        if (span !== undefined || bytes[start] !== OPEN_OBJECT) throw notScannable;
        this.strict = true;
        this.value(0);
        this.strict = false;
        span = { start, end: this.pos };
      } else {
        this.value(0);
      }
      this.space();
      const next = bytes[this.pos++];
      if (next === CLOSE_OBJECT) break;
      if (next !== COMMA) throw notScannable;
      this.space();
    }
    this.space();
    if (this.pos !== bytes.length || span === undefined) throw notScannable;
    return span;
  }

  private isInputKey(start: number, end: number): boolean {
    if (end - start !== inputKey.length) return false;
    for (let i = 0; i < inputKey.length; i += 1)
      if (this.bytes[start + i] !== inputKey[i]) return false;
    return true;
  }

  private value(depth: number): void {
    if (depth > maxDepth) throw notScannable;
    const { bytes } = this;
    const c = bytes[this.pos];
    if (c === OPEN_OBJECT) {
      this.pos += 1;
      this.space();
      if (bytes[this.pos] === CLOSE_OBJECT) {
        this.pos += 1;
        return;
      }
      for (;;) {
        this.string();
        this.space();
        this.expect(COLON);
        this.space();
        this.value(depth + 1);
        this.space();
        const next = bytes[this.pos++];
        if (next === CLOSE_OBJECT) return;
        if (next !== COMMA) throw notScannable;
        this.space();
      }
    }
    if (c === OPEN_ARRAY) {
      this.pos += 1;
      this.space();
      if (bytes[this.pos] === CLOSE_ARRAY) {
        this.pos += 1;
        return;
      }
      for (;;) {
        this.value(depth + 1);
        this.space();
        const next = bytes[this.pos++];
        if (next === CLOSE_ARRAY) return;
        if (next !== COMMA) throw notScannable;
        this.space();
      }
    }
    if (c === QUOTE) return this.string();
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return this.number();
    if (c === 0x74) return this.literal('true');
    if (c === 0x66) return this.literal('false');
    if (c === 0x6e) return this.literal('null');
    throw notScannable;
  }

  private string(): void {
    const { bytes } = this;
    this.expect(QUOTE);
    for (;;) {
      const c = bytes[this.pos++];
      if (c === QUOTE) return;
      if (c === undefined || c < 0x20) throw notScannable;
      // Outside the input, non-ASCII text is decoded and parsed like the rest.
      if (c >= 0x80 && this.strict) throw notScannable;
      if (c === BACKSLASH) {
        const escape = bytes[this.pos++];
        if (escape === 0x75) {
          // A \u escape may print back as raw UTF-8: leave such inputs to the slow path.
          if (this.strict) throw notScannable;
          for (let i = 0; i < 4; i += 1) if (!isHex(bytes[this.pos++])) throw notScannable;
        } else if (!isSimpleEscape(escape)) {
          throw notScannable;
        }
      }
    }
  }

  private number(): void {
    const { bytes } = this;
    const start = this.pos;
    let exact = true;
    if (bytes[this.pos] === MINUS) this.pos += 1;
    const first = bytes[this.pos];
    if (first === ZERO) {
      this.pos += 1;
      // "-0" parses to -0, which prints back as 0.
      if (bytes[start] === MINUS) exact = false;
    } else if (isDigit(first)) {
      while (isDigit(bytes[this.pos])) this.pos += 1;
    } else {
      throw notScannable;
    }
    const digits = this.pos - start - (bytes[start] === MINUS ? 1 : 0);
    if (digits > maxExactDigits) exact = false;
    if (bytes[this.pos] === 0x2e) {
      exact = false;
      this.pos += 1;
      if (!isDigit(bytes[this.pos])) throw notScannable;
      while (isDigit(bytes[this.pos])) this.pos += 1;
    }
    const e = bytes[this.pos];
    if (e === 0x65 || e === 0x45) {
      exact = false;
      this.pos += 1;
      const sign = bytes[this.pos];
      if (sign === 0x2b || sign === MINUS) this.pos += 1;
      if (!isDigit(bytes[this.pos])) throw notScannable;
      while (isDigit(bytes[this.pos])) this.pos += 1;
    }
    if (!exact && this.strict) throw notScannable;
  }

  private literal(word: 'true' | 'false' | 'null'): void {
    for (let i = 0; i < word.length; i += 1)
      if (this.bytes[this.pos++] !== word.charCodeAt(i)) throw notScannable;
  }

  private expect(byte: number): void {
    if (this.bytes[this.pos++] !== byte) throw notScannable;
  }

  private space(): void {
    const { bytes } = this;
    for (;;) {
      const c = bytes[this.pos];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos += 1;
      else return;
    }
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

function isSimpleEscape(c: number | undefined): boolean {
  // " \ / b f n r t
  return (
    c === QUOTE ||
    c === BACKSLASH ||
    c === 0x2f ||
    c === 0x62 ||
    c === 0x66 ||
    c === 0x6e ||
    c === 0x72 ||
    c === 0x74
  );
}
