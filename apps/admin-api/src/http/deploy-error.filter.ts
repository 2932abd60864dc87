import { Catch } from '@nestjs/common';
import type { DeployError } from '@caracal-deploy/errors';
import { HttpErrorFilter } from '@caracal-deploy/http-server';

import { findingsOf } from './http-errors.js';

/**
 * The one place admin-api's HTTP errors are written: every throw becomes
 * `{ error: { code, message, violations, details } }` with the status of its
 * code (refined for 405/413/422); a 422 also carries the validator's findings.
 * Unknown throws answer 500 "internal error" and only the log sees the cause.
 */
@Catch()
export class DeployErrorFilter extends HttpErrorFilter {
  constructor() {
    super({ logContext: 'AdminApi' });
  }

  protected override extraFields(error: DeployError): Readonly<Record<string, unknown>> {
    const report = findingsOf(error);
    return report === undefined ? {} : { findings: report.findings, tests: report.tests };
  }
}
