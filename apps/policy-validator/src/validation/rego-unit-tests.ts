import type { OpaTestResult } from '@caracal-deploy/opa';

import { packageOf, positionAt } from './rego-lexer.js';
import type { PolicyModule } from './validation-model.js';

/** A `test_*` rule of a `_test.rego` module. */
export interface RegoUnitTest {
  readonly package: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Every `test_*` rule defined at the top level of the `_test.rego` modules (first definition wins). */
export function discoverRegoTests(modules: readonly PolicyModule[]): RegoUnitTest[] {
  const tests = new Map<string, RegoUnitTest>();
  for (const module of modules) {
    if (!module.isTest) continue;
    const pkg = packageOf(module.scanned)?.name;
    if (pkg === undefined) continue;
    for (const match of module.scanned.code.matchAll(/^(test_\w+)\b/gm)) {
      const name = match[1] ?? '';
      const key = `${pkg}.${name}`;
      if (!tests.has(key)) {
        tests.set(key, {
          package: pkg,
          name,
          file: module.path,
          ...positionAt(module.scanned.code, match.index),
        });
      }
    }
  }
  return [...tests.values()];
}

/**
 * One query that evaluates every test rule, each as a collection of its values:
 * `[true]` passes, `[]` (undefined) or `[false]` fails — `opa test`'s rule. With
 * `--strict` and the restricted capabilities the same `opa eval` also does
 * everything `opa check --strict` does, so one compile serves both.
 */
export function regoTestQuery(tests: readonly RegoUnitTest[]): string {
  if (tests.length === 0) return 'true';
  const entries = tests.map(
    (test) =>
      `${JSON.stringify(`${test.package}.${test.name}`)}: [r | r := data.${test.package}.${test.name}]`,
  );
  return `{${entries.join(', ')}}`;
}

/** Reads the value of {@link regoTestQuery} back into per-test results. */
export function regoTestResults(tests: readonly RegoUnitTest[], value: unknown): OpaTestResult[] {
  const values = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  return tests.map((test) => {
    const outcome = values[`${test.package}.${test.name}`];
    const passed = Array.isArray(outcome) && outcome.length > 0 && outcome.every((v) => v === true);
    return {
      package: test.package,
      name: test.name,
      file: test.file,
      row: test.line,
      col: test.column,
      passed,
      message: passed ? '' : 'failed',
    };
  });
}
