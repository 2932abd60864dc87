import {
  type DeployError,
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
  httpStatusByCode,
} from '@caracal-deploy/errors';

import type { StoredFinding, StoredTestResult } from '../database/registry.schema.js';

/**
 * An error whose HTTP status refines the one `httpStatusByCode` gives its code.
 * The code stays one of the closed set (what gRPC callers and logs see); only
 * the HTTP answer is more specific where HTTP has a better word for it.
 */
interface HttpRefined {
  readonly httpStatus: number;
  readonly headers?: Readonly<Record<string, string>>;
}

function isHttpRefined(error: DeployError): error is DeployError & HttpRefined {
  return typeof (error as Partial<HttpRefined>).httpStatus === 'number';
}

/** The request body is larger than the configured limit: HTTP 413, not the 429 of rate limits. */
export class PayloadTooLargeError extends ResourceExhaustedError implements HttpRefined {
  readonly httpStatus = 413;
}

/** A method that would change an immutable version: HTTP 405 with the `Allow` header. */
export class MethodNotAllowedError extends FailedPreconditionError implements HttpRefined {
  readonly httpStatus = 405;
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, allow: readonly string[]) {
    super(message, { details: { allow: allow.join(', ') } });
    this.headers = { allow: allow.join(', ') };
  }
}

/** What the validator said about a version, carried by a 422. */
export interface FindingsReport {
  readonly findings: readonly StoredFinding[];
  readonly tests: readonly StoredTestResult[];
}

/**
 * The validator found ERROR findings: HTTP 422 with every finding passed through
 * as the validator reported it, plus one violation per blocking finding.
 */
export class PolicyFindingsError extends InvalidArgumentError implements HttpRefined {
  readonly httpStatus = 422;

  constructor(
    message: string,
    readonly report: FindingsReport,
    details: Readonly<Record<string, string>>,
  ) {
    super(message, {
      details,
      violations: report.findings
        .filter((finding) => finding.severity === 'error')
        .map((finding) => ({
          field: locationText(finding.location),
          problem: `${finding.code}: ${finding.message}`,
        })),
    });
  }
}

/** Refusal to bundle a version whose verdict is not valid: 422 with that verdict's findings. */
export class InvalidVersionError extends FailedPreconditionError implements HttpRefined {
  readonly httpStatus = 422;

  constructor(
    message: string,
    readonly report: FindingsReport,
    details: Readonly<Record<string, string>>,
  ) {
    super(message, { details });
  }
}

function locationText(location: StoredFinding['location']): string {
  if (location.file === '') return '(policy)';
  if (location.line === 0) return location.file;
  return `${location.file}:${location.line}:${location.column}`;
}

/** The HTTP status and extra headers of an error: refinement first, then the shared mapping. */
export function httpAnswerOf(error: DeployError): {
  status: number;
  headers: Readonly<Record<string, string>>;
} {
  if (isHttpRefined(error)) return { status: error.httpStatus, headers: error.headers ?? {} };
  return { status: httpStatusByCode[error.code], headers: {} };
}

/** The findings a 422 carries, if the error is one. */
export function findingsOf(error: DeployError): FindingsReport | undefined {
  if (error instanceof PolicyFindingsError || error instanceof InvalidVersionError) {
    return error.report;
  }
  return undefined;
}
