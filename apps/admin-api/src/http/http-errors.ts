import {
  type DeployError,
  FailedPreconditionError,
  InvalidArgumentError,
} from '@caracal-deploy/errors';
import type { HttpRefined } from '@caracal-deploy/http-server';

import type { StoredFinding, StoredTestResult } from '../database/registry.schema.js';

// Shared with rollback-controller; re-exported so admin-api's HTTP errors have one home.
export { PayloadTooLargeError, httpAnswerOf } from '@caracal-deploy/http-server';

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

/** The findings a 422 carries, if the error is one. */
export function findingsOf(error: DeployError): FindingsReport | undefined {
  if (error instanceof PolicyFindingsError || error instanceof InvalidVersionError) {
    return error.report;
  }
  return undefined;
}
