/** A string literal in Rego source with its 1-based position (of the opening quote). */
export interface RegoString {
  readonly value: string;
  readonly line: number;
  readonly column: number;
  /** Length of the literal in the source, quotes included. */
  readonly length: number;
}

/** A module reduced for lexical checks: its string literals, and its code with strings and comments blanked. */
export interface ScannedModule {
  readonly strings: readonly RegoString[];
  /**
   * The source with every comment and string literal replaced by spaces (newlines
   * kept), so that regular expressions over it see only code and every offset,
   * line and column still matches the original.
   */
  readonly code: string;
}

/**
 * Splits Rego source into code, comments and string literals (`"…"` with escapes
 * and raw `` `…` ``). The static checks need no more than this; full parsing and
 * compiling stays with `opa check`.
 */
export function scanRego(source: string): ScannedModule {
  const strings: RegoString[] = [];
  const code = source.split('');
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k += 1) if (code[k] !== '\n') code[k] = ' ';
  };
  while (i < source.length) {
    const char = source[i];
    if (char === '\n') {
      line += 1;
      lineStart = i + 1;
      i += 1;
    } else if (char === '#') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (char === '"' || char === '`') {
      const start = i;
      const startLine = line;
      const column = i - lineStart + 1;
      i += 1;
      while (i < source.length && source[i] !== char) {
        if (char === '"' && source[i] === '\\') i += 1;
        else if (source[i] === '\n') {
          line += 1;
          lineStart = i + 1;
        }
        i += 1;
      }
      const raw = source.slice(start, Math.min(i + 1, source.length));
      strings.push({ value: decodeString(raw, char), line: startLine, column, length: raw.length });
      blank(start, Math.min(i + 1, source.length));
      i += 1;
    } else {
      i += 1;
    }
  }
  return { strings, code: code.join('') };
}

function decodeString(raw: string, quote: string): string {
  if (quote === '`') return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    // Unterminated or invalid escapes: `opa check` reports those; keep the text.
    return raw.slice(1, -1);
  }
}

/** 1-based line and column of `offset` in `text`. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k += 1) {
    if (text[k] === '\n') {
      line += 1;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The module's package (e.g. `caracal.authz`) and where it is declared, if it has one. */
export function packageOf(
  scanned: ScannedModule,
): { name: string; line: number; column: number } | undefined {
  const match = /^[ \t]*package[ \t]+([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)/m.exec(scanned.code);
  if (match?.[1] === undefined) return undefined;
  return { name: match[1], ...positionAt(scanned.code, match.index + match[0].indexOf('package')) };
}

/** Where the module defines a top-level rule named `name` (first definition), if it does. */
export function ruleDefinition(
  scanned: ScannedModule,
  name: string,
): { line: number; column: number } | undefined {
  const pattern = new RegExp(
    `^(?:default[ \\t]+)?${name}(?=[ \\t]*(?::=|=|\\{|\\[|\\bif\\b|\\bcontains\\b|$))`,
    'm',
  );
  const match = pattern.exec(scanned.code);
  return match === null ? undefined : positionAt(scanned.code, match.index);
}
