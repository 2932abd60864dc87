/** One problem OPA reported about a policy: where (file, 1-based row, column) and what. */
export interface OpaDiagnostic {
  /** File as passed to OPA; empty when OPA gave no location. */
  readonly file: string;
  /** 1-based line; 0 when unknown. */
  readonly row: number;
  /** 1-based column; 0 when unknown (OPA reports 0 at end of file). */
  readonly col: number;
  readonly message: string;
  /** OPA's error code, e.g. `rego_parse_error`, `rego_unsafe_var_error`. */
  readonly code: string;
}

interface JsonError {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly location?: { readonly file?: unknown; readonly row?: unknown; readonly col?: unknown };
}

/**
 * Diagnostics from OPA's `--format json` error output (`{"errors": [...]}`), or
 * undefined when `text` is not such a document.
 */
export function parseJsonDiagnostics(text: string): OpaDiagnostic[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  return (errors as JsonError[]).map((error) => ({
    file: typeof error.location?.file === 'string' ? error.location.file : '',
    row: typeof error.location?.row === 'number' ? error.location.row : 0,
    col: typeof error.location?.col === 'number' ? error.location.col : 0,
    message: typeof error.message === 'string' ? error.message : JSON.stringify(error),
    code: typeof error.code === 'string' ? error.code : 'opa_error',
  }));
}

// `opa build` has no JSON error output; its lines read `file:row: code: message`.
const textDiagnostic = /^(.+?):(\d+): (rego_[a-z_]+): (.*)$/;

/** Diagnostics from `opa build`'s text errors; lines of other shapes are ignored. */
export function parseTextDiagnostics(text: string): OpaDiagnostic[] {
  return text.split('\n').flatMap((line) => {
    const match = textDiagnostic.exec(line.trim());
    if (match === null) return [];
    const [, file = '', row = '0', code = '', message = ''] = match;
    return [{ file, row: Number(row), col: 0, message, code }];
  });
}
