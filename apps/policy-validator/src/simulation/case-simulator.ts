import {
  Decision,
  Severity,
  type CaseResultSchema,
  type SimulateRequest,
  type SimulateResponseSchema,
} from '@caracal-deploy/contracts';
import {
  InvalidArgumentError,
  ResourceExhaustedError,
  type FieldViolation,
} from '@caracal-deploy/errors';
import type { WasmPolicy } from '@caracal-deploy/opa';
import { effectiveDecision } from '@caracal-deploy/simulation';
import type { MessageInitShape } from '@bufbuild/protobuf';

import { inputWarnings } from './input-warnings.js';

type CaseResultInit = MessageInitShape<typeof CaseResultSchema>;
type EvaluationInit = NonNullable<CaseResultInit['candidate']>;

const entrypoint = 'caracal/authz/result';
const encoder = new TextEncoder();

/** Evaluates one input; an evaluation that throws is an error (which the STS denies). */
function evaluate(policy: WasmPolicy, input: unknown): EvaluationInit {
  let result: unknown;
  try {
    result = policy.evaluate(input, entrypoint);
  } catch {
    result = undefined;
  }
  const status = (result as { evaluation_status?: unknown } | undefined)?.evaluation_status;
  return {
    decision: effectiveDecision(result).decision === 'allow' ? Decision.ALLOW : Decision.DENY,
    evaluationStatus: typeof status === 'string' ? status : 'error',
    resultJson: encoder.encode(JSON.stringify(result ?? null)),
  };
}

function parseCase(
  inputJson: Uint8Array,
): { input: Record<string, unknown> } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(inputJson));
  } catch (error) {
    return { problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      problem: `expected a JSON object (a policy input), got ${Array.isArray(value) ? 'an array' : typeof value}`,
    };
  }
  return { input: value as Record<string, unknown> };
}

/**
 * Runs declared cases on the candidate (and the baseline, if given): decision,
 * status and full result per case, pass/fail against the expected decision,
 * what flips against the baseline, and input warnings. Malformed cases refuse
 * the whole batch unless the caller asked to run the rest.
 */
export function simulateCases(
  request: SimulateRequest,
  candidate: WasmPolicy,
  baseline: WasmPolicy | undefined,
  maxCases: number,
): MessageInitShape<typeof SimulateResponseSchema> {
  if (request.cases.length === 0) {
    throw new InvalidArgumentError('nothing to simulate', {
      violations: [{ field: 'cases', problem: 'expected at least one case' }],
    });
  }
  if (request.cases.length > maxCases) {
    throw new ResourceExhaustedError(
      `at most ${maxCases} cases per simulation, got ${request.cases.length}`,
      {
        details: { limit: String(maxCases) },
      },
    );
  }
  const parsed = request.cases.map((item, index) => {
    const field = `cases[${index}]`;
    if (item.expectedDecision === Decision.UNSPECIFIED) {
      return {
        field: `${field}.expected_decision`,
        problem: 'required: allow or deny',
      } satisfies FieldViolation;
    }
    const result = parseCase(item.inputJson);
    return 'problem' in result
      ? ({ field: `${field}.input_json`, problem: result.problem } satisfies FieldViolation)
      : result;
  });
  const violations = parsed.filter((item): item is FieldViolation => 'field' in item);
  if (violations.length > 0 && !request.continueOnInvalidCase) {
    throw new InvalidArgumentError(
      `${violations.length} of ${request.cases.length} cases are malformed`,
      { violations },
    );
  }

  let [passed, failed, flipped, invalid] = [0, 0, 0, 0];
  const results = request.cases.map((item, index): CaseResultInit => {
    const parsedCase = parsed[index]!;
    if ('field' in parsedCase) {
      invalid += 1;
      return {
        name: item.name,
        expectedDecision: item.expectedDecision,
        invalid: {
          severity: Severity.ERROR,
          code: 'invalid_case',
          message: `${parsedCase.field}: ${parsedCase.problem}`,
        },
      };
    }
    const candidateEvaluation = evaluate(candidate, parsedCase.input);
    const baselineEvaluation = baseline ? evaluate(baseline, parsedCase.input) : undefined;
    const casePassed = candidateEvaluation.decision === item.expectedDecision;
    const caseFlipped =
      baselineEvaluation !== undefined &&
      baselineEvaluation.decision !== candidateEvaluation.decision;
    if (casePassed) passed += 1;
    else failed += 1;
    if (caseFlipped) flipped += 1;
    return {
      name: item.name,
      candidate: candidateEvaluation,
      ...(baselineEvaluation ? { baseline: baselineEvaluation } : {}),
      expectedDecision: item.expectedDecision,
      passed: casePassed,
      flipped: caseFlipped,
      inputWarnings: inputWarnings(parsedCase.input, request.zoneId, request.catalog).map(
        (warning) => ({
          severity: Severity.WARNING,
          code: warning.code,
          message: warning.message,
          details: { path: warning.path },
        }),
      ),
    };
  });
  return { results, passed, failed, flipped, invalid };
}
