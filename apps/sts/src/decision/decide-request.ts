import {
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
  httpStatusByCode,
  toDeployError,
} from '@caracal-deploy/errors';

import type { HttpAnswer } from '../exchange/token-exchanger.js';
import type { AuditedDecision, DecisionEngine } from './decision-engine.js';

/** A per-request decision as either surface (gRPC Decide, `POST /v1/decide`) receives it. */
export interface DecideRequestFacts {
  readonly zoneId: string;
  readonly requestId: string;
  /** The policy input, already parsed from JSON. */
  readonly input: unknown;
  /** Name of the input field in the caller's request, for violations (`input_json`, `input`). */
  readonly inputField: string;
}

/**
 * The Gateway's per-request decision, shared by gRPC `StsService.Decide` and
 * `POST /v1/decide` so both run the same checks and the same audited engine
 * call (`gateway.decide`). Throws {@link InvalidArgumentError} for a missing
 * zone or a non-object input, {@link FailedPreconditionError} for a zone this
 * replica does not serve, and {@link ResourceExhaustedError} when the audit
 * buffer is full (the caller must then not act on any decision).
 */
export function decideRequest(
  engine: Pick<DecisionEngine, 'decide' | 'serves'>,
  request: DecideRequestFacts,
): AuditedDecision {
  if (!request.zoneId) {
    throw new InvalidArgumentError('a decision needs a zone', {
      violations: [{ field: 'zone_id', problem: 'expected the zone id' }],
    });
  }
  if (!engine.serves(request.zoneId)) {
    throw new FailedPreconditionError(`zone ${request.zoneId} is not served by this STS`, {
      details: { zone_id: request.zoneId },
    });
  }
  const input = request.input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError(`${request.inputField} must be a JSON object`, {
      violations: [
        { field: request.inputField, problem: 'expected a caracal-policy-input object' },
      ],
    });
  }
  return engine.decide({
    zoneId: request.zoneId,
    requestId: request.requestId,
    eventType: 'gateway.decide',
    input: input as Record<string, unknown>,
  });
}

/** Path of the HTTP decision endpoint (the same decision as gRPC Decide). */
export const decidePath = '/v1/decide';

/**
 * Answers `POST /v1/decide` with body `{ "zone_id", "input", "request_id"? }`:
 * 200 with `{ decision, decision_id, revision, evaluation_status, result, reason? }`
 * and the `x-caracal-*` decision headers for allow and deny alike; 400/409 with
 * `{ error: { code, message, violations } }` for a bad request or an unserved
 * zone; 503 with `retry-after` when the audit buffer is full.
 */
export function decideOverHttp(
  engine: Pick<DecisionEngine, 'decide' | 'serves'>,
  body: unknown,
  requestId: string,
  logError: (message: string, error: unknown) => void,
): HttpAnswer {
  try {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidArgumentError('the request body must be a JSON object', {
        violations: [{ field: '(body)', problem: 'expected { "zone_id", "input" }' }],
      });
    }
    const fields = body as Record<string, unknown>;
    if (typeof fields['zone_id'] !== 'string') {
      throw new InvalidArgumentError('a decision needs a zone', {
        violations: [
          {
            field: 'zone_id',
            problem: `expected the zone id as a string, got ${describeJson(fields['zone_id'])}`,
          },
        ],
      });
    }
    const callerId = fields['request_id'];
    const decided = decideRequest(engine, {
      zoneId: fields['zone_id'],
      requestId: typeof callerId === 'string' && callerId ? callerId : requestId,
      input: fields['input'],
      inputField: 'input',
    });
    return decisionAnswer(decided);
  } catch (error) {
    return decideErrorAnswer(error, logError);
  }
}

function decisionAnswer(decided: AuditedDecision): HttpAnswer {
  return {
    status: 200,
    body: {
      decision: decided.decision,
      decision_id: decided.decisionId,
      revision: decided.revision,
      evaluation_status: decided.evaluationStatus,
      result: decided.result ?? null,
      ...(decided.reason ? { reason: decided.reason } : {}),
    },
    headers: {
      'x-request-id': decided.requestId,
      'x-caracal-decision': decided.decision,
      'x-caracal-decision-id': decided.decisionId,
      'x-caracal-policy-revision': decided.revision ?? '',
    },
  };
}

/** The error answer of the decision endpoint; unexpected causes are logged, never sent. */
export function decideErrorAnswer(
  error: unknown,
  logError: (message: string, error: unknown) => void,
): HttpAnswer {
  const deployError = toDeployError(error);
  if (deployError.code === 'internal') logError('decision failed', error);
  // A full audit buffer is backpressure from a dependency, answered as on the
  // token endpoint (503, retry); everything else takes the shared mapping.
  const status =
    deployError instanceof ResourceExhaustedError ? 503 : httpStatusByCode[deployError.code];
  return {
    status,
    body: {
      error: {
        code: deployError.code,
        message: deployError.code === 'internal' ? 'internal error' : deployError.message,
        violations: deployError.violations,
      },
    },
    ...(status === 503 ? { headers: { 'retry-after': '1' } } : {}),
  };
}

function describeJson(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 64);
}
