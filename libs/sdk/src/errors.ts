import type { ApiErrorBody } from './gen/admin-api.types.js';

/** One named problem with a request field, as the Admin API reports it. */
export interface Violation {
  readonly field: string;
  readonly problem: string;
}

/** A validator finding carried by a 422 (`severity`, `code`, `message`, `location`). */
export interface Finding {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly location?: { readonly file: string; readonly line: number; readonly column: number };
}

/** A pack-test outcome carried by a 422. */
export interface TestOutcome {
  readonly name: string;
  readonly passed: boolean;
  readonly expected?: string;
  readonly actual?: string;
  readonly message?: string;
}

/** Common options of every SDK error. */
interface ErrorInit {
  readonly status: number;
  readonly code: string;
  readonly violations?: readonly Violation[];
  readonly details?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** Base class of every error the SDK throws for an Admin API answer or a transport failure. */
export class AdminApiError extends Error {
  override readonly name: string = 'AdminApiError';
  /** HTTP status (0 when no answer arrived). */
  readonly status: number;
  /** The API's stable error code (e.g. `NOT_FOUND`), or `UNREACHABLE` for a transport failure. */
  readonly code: string;
  /** Each malformed field, named. */
  readonly violations: readonly Violation[];
  /** Structured details (e.g. `dependency`, `current_active_version_id`). */
  readonly details: Readonly<Record<string, string>>;

  constructor(message: string, init: ErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.violations = init.violations ?? [];
    this.details = init.details ?? {};
  }
}

/** 400: the request is malformed; `violations` names each field. */
export class InvalidRequestError extends AdminApiError {
  override readonly name = 'InvalidRequestError';
}

/** 401: no, unknown or revoked token. */
export class UnauthorizedError extends AdminApiError {
  override readonly name = 'UnauthorizedError';
}

/** 403: the token's role is too weak for the operation. */
export class ForbiddenError extends AdminApiError {
  override readonly name = 'ForbiddenError';
}

/** 404: the zone, policy, version, activation or deployment does not exist. */
export class NotFoundError extends AdminApiError {
  override readonly name = 'NotFoundError';
}

/**
 * 409: a name is taken, a compare-and-set lost (`currentActiveVersionId` names
 * what the zone serves now), or the version is not in a state that allows it.
 */
export class ConflictError extends AdminApiError {
  override readonly name = 'ConflictError';
  /** The zone's active version when an activation's `expected_active_version_id` was stale. */
  get currentActiveVersionId(): string | undefined {
    return this.details['current_active_version_id'];
  }
}

/** 413: the body, or the number of cases, is over a limit (`details.limit`). */
export class PayloadTooLargeError extends AdminApiError {
  override readonly name = 'PayloadTooLargeError';
}

/** 422: the validator found errors; `findings` and `tests` carry its diagnostics. */
export class ValidationFailedError extends AdminApiError {
  override readonly name = 'ValidationFailedError';
  /** Every finding the validator reported. */
  readonly findings: readonly Finding[];
  /** Every pack-test outcome the validator reported. */
  readonly tests: readonly TestOutcome[];

  constructor(
    message: string,
    init: ErrorInit & {
      readonly findings?: readonly Finding[];
      readonly tests?: readonly TestOutcome[];
    },
  ) {
    super(message, init);
    this.findings = init.findings ?? [];
    this.tests = init.tests ?? [];
  }
}

/** 503, or no answer at all: a dependency (or the Admin API itself) is unavailable. */
export class UnavailableError extends AdminApiError {
  override readonly name: string = 'UnavailableError';
  /** The dependency the API named (`details.dependency`), when it named one. */
  get dependency(): string | undefined {
    return this.details['dependency'];
  }
}

/** No HTTP answer: the server could not be reached (refused, reset, DNS, timeout). */
export class UnreachableError extends UnavailableError {
  override readonly name = 'UnreachableError';
}

/** The answer was not what the contract says (not JSON, unexpected shape). */
export class ProtocolError extends AdminApiError {
  override readonly name = 'ProtocolError';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The typed error of a non-2xx answer, read from the API's error body when it has one. */
export function errorFromAnswer(status: number, body: unknown, fallback: string): AdminApiError {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : undefined;
  const parsed = error as Partial<ApiErrorBody['error']> & {
    tests?: unknown;
  };
  const message = typeof parsed?.message === 'string' ? parsed.message : fallback;
  const init: ErrorInit = {
    status,
    code: typeof parsed?.code === 'string' ? parsed.code : `HTTP_${status}`,
    violations: Array.isArray(parsed?.violations) ? parsed.violations : [],
    details: isRecord(parsed?.details) ? parsed.details : {},
  };
  switch (status) {
    case 400:
      return new InvalidRequestError(message, init);
    case 401:
      return new UnauthorizedError(message, init);
    case 403:
      return new ForbiddenError(message, init);
    case 404:
      return new NotFoundError(message, init);
    case 409:
      return new ConflictError(message, init);
    case 413:
      return new PayloadTooLargeError(message, init);
    case 422:
      return new ValidationFailedError(message, {
        ...init,
        findings: Array.isArray(parsed?.findings) ? (parsed.findings as Finding[]) : [],
        tests: Array.isArray(parsed?.tests) ? (parsed.tests as TestOutcome[]) : [],
      });
    case 502:
    case 503:
    case 504:
      return new UnavailableError(message, init);
    default:
      return new AdminApiError(message, init);
  }
}
