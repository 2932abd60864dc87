import type { WasmPolicy } from '@caracal-deploy/opa';
import { validatePolicyInput, validatePolicyResult } from '@caracal-deploy/policy-contract';

import {
  error,
  type PackCase,
  type ValidationFinding,
  type ValidationTestResult,
} from './validation-model.js';

/** The wasm entrypoint every bundle serves. */
export const wasmEntrypoint = 'caracal/authz/result';

/**
 * Fail closed, as the STS does: only a schema-valid result with decision `allow`
 * and evaluation_status `complete` is an allow; anything else is a deny.
 */
export function effectiveDecision(result: unknown): 'allow' | 'deny' {
  if (!validatePolicyResult(result).valid) return 'deny';
  const { decision, evaluation_status: status } = result as {
    decision: string;
    evaluation_status: string;
  };
  return decision === 'allow' && status === 'complete' ? 'allow' : 'deny';
}

/**
 * Runs the pack tests on the built wasm module (the bytes the STS will load): the
 * input must be a valid policy input, the result a valid policy result, and the
 * effective decision the expected one.
 */
export function runPackTests(
  policy: Pick<WasmPolicy, 'evaluate'>,
  tests: readonly PackCase[],
): { findings: ValidationFinding[]; results: ValidationTestResult[] } {
  const findings: ValidationFinding[] = [];
  const results: ValidationTestResult[] = [];
  for (const test of tests) {
    const failed = (message: string, actual?: 'allow' | 'deny') => {
      results.push({
        name: test.name,
        kind: 'pack',
        passed: false,
        expected: test.expected,
        ...(actual === undefined ? {} : { actual }),
        message,
      });
    };
    let input: unknown;
    try {
      input = JSON.parse(test.inputJson);
    } catch (thrown) {
      const message = `pack test ${JSON.stringify(test.name)}: input is not JSON: ${(thrown as Error).message}`;
      findings.push(error('pack_test_input_invalid', message, undefined, { test: test.name }));
      failed(message);
      continue;
    }
    const inputCheck = validatePolicyInput(input);
    if (!inputCheck.valid) {
      for (const problem of inputCheck.errors) {
        findings.push(
          error(
            'pack_test_input_invalid',
            `pack test ${JSON.stringify(test.name)}: input ${problem.path || '(root)'} ${problem.message} (caracal-policy-input-2026-05-20)`,
            undefined,
            { test: test.name, path: problem.path, schema_path: problem.schemaPath },
          ),
        );
      }
      failed(
        `input is not a valid policy input: ${inputCheck.errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`,
      );
      continue;
    }
    let result: unknown;
    try {
      result = policy.evaluate(input, wasmEntrypoint);
    } catch (thrown) {
      const message = `pack test ${JSON.stringify(test.name)}: evaluation failed: ${(thrown as { message?: string }).message ?? String(thrown)}`;
      findings.push(error('pack_test_failed', message, undefined, { test: test.name }));
      failed(message, 'deny');
      continue;
    }
    const resultCheck = validatePolicyResult(result);
    for (const problem of resultCheck.errors) {
      findings.push(
        error(
          'result_schema_invalid',
          `pack test ${JSON.stringify(test.name)}: result ${problem.path || '(root)'} ${problem.message} (caracal-policy-result-2026-05-20 ${problem.schemaPath})`,
          undefined,
          { test: test.name, path: problem.path, schema_path: problem.schemaPath },
        ),
      );
    }
    const actual = effectiveDecision(result);
    if (actual !== test.expected) {
      const why = resultCheck.valid
        ? `got ${actual} (decision ${JSON.stringify((result as { decision?: unknown }).decision)}, evaluation_status ${JSON.stringify((result as { evaluation_status?: unknown }).evaluation_status)})`
        : `got ${actual} because the result is ${result === undefined ? 'undefined' : 'not a valid policy result'}`;
      const message = `pack test ${JSON.stringify(test.name)}: expected ${test.expected}, ${why}`;
      findings.push(
        error('pack_test_failed', message, undefined, {
          test: test.name,
          expected: test.expected,
          actual,
        }),
      );
      failed(message, actual);
      continue;
    }
    if (!resultCheck.valid) {
      failed('the result is not a valid policy result', actual);
      continue;
    }
    results.push({
      name: test.name,
      kind: 'pack',
      passed: true,
      expected: test.expected,
      actual,
      message: '',
    });
  }
  return { findings, results };
}
