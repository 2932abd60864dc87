import type { ScannedModule } from './rego-lexer.js';

/** Where a finding points: a module or data document path as given, 1-based line/column (0 = unknown). */
export interface FindingLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One problem found in a version; `error` blocks it, `warning` does not. */
export interface ValidationFinding {
  readonly severity: 'error' | 'warning';
  /** Stable machine code, e.g. `blocked_builtin` (the list is in validation.proto). */
  readonly code: string;
  readonly message: string;
  readonly location?: FindingLocation;
  readonly details?: Readonly<Record<string, string>>;
}

/** Outcome of one Rego unit test (`rego`) or pack test (`pack`). */
export interface ValidationTestResult {
  readonly name: string;
  readonly kind: 'rego' | 'pack';
  readonly passed: boolean;
  readonly expected?: 'allow' | 'deny';
  readonly actual?: 'allow' | 'deny';
  readonly message: string;
}

/** Everything Validate reports. */
export interface ValidationReport {
  /** True when no finding is an error. */
  readonly valid: boolean;
  readonly findings: readonly ValidationFinding[];
  readonly tests: readonly ValidationTestResult[];
  readonly opaVersion: string;
}

/** A Rego module of the request, scanned once for the static checks. */
export interface PolicyModule {
  readonly path: string;
  readonly source: string;
  readonly scanned: ScannedModule;
  /** `_test.rego` modules hold Rego unit tests and are left out of the bundle. */
  readonly isTest: boolean;
}

/** A data document of the request: raw text (for locations) and parsed value. */
export interface PolicyData {
  readonly path: string;
  readonly text: string;
  readonly value: unknown;
  /** Where it is mounted under `data`: the directories of its path. */
  readonly mount: readonly string[];
}

/** One resource of the zone's catalog. */
export interface CatalogEntry {
  readonly identifier: string;
  readonly id: string;
  readonly scopes: readonly string[];
}

/** A pack test: an input (raw JSON text) and the decision it must get. */
export interface PackCase {
  readonly name: string;
  readonly inputJson: string;
  readonly expected: 'allow' | 'deny';
}

/** A validated request, ready for the checks. */
export interface PolicySourceSet {
  readonly zoneId: string;
  readonly modules: readonly PolicyModule[];
  readonly data: readonly PolicyData[];
  readonly tests: readonly PackCase[];
  readonly catalog: readonly CatalogEntry[];
}

/** Shorthand for an error finding. */
export function error(
  code: string,
  message: string,
  location?: FindingLocation,
  details?: Record<string, string>,
): ValidationFinding {
  return {
    severity: 'error',
    code,
    message,
    ...(location === undefined ? {} : { location }),
    ...(details === undefined ? {} : { details }),
  };
}
