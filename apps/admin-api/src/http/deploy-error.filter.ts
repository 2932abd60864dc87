import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import {
  type DeployError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  toDeployError,
} from '@caracal-deploy/errors';

import { findingsOf, httpAnswerOf } from './http-errors.js';
import type { ApiRequest, ApiResponse } from './http-types.js';

/** Nest's own HTTP exceptions (unknown route, …) expressed in the closed error set. */
function fromNestException(exception: HttpException, request: ApiRequest): DeployError {
  const status = exception.getStatus();
  if (status === 404) return new NotFoundError(`no route ${request.method} ${request.url}`);
  if (status === 401) return new UnauthenticatedError(exception.message);
  if (status === 403) return new PermissionDeniedError(exception.message);
  if (status >= 400 && status < 500) return new InvalidArgumentError(exception.message);
  return toDeployError(exception);
}

/**
 * The one place HTTP errors are written: every throw becomes
 * `{ error: { code, message, violations, details } }` with the status of its
 * code (refined for 405/413/422); a 422 also carries the validator's findings.
 * Unknown throws answer 500 "internal error" and only the log sees the cause.
 */
@Catch()
export class DeployErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('AdminApi');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<ApiRequest>();
    const response = http.getResponse<ApiResponse>();
    const error =
      exception instanceof HttpException
        ? fromNestException(exception, request)
        : toDeployError(exception);
    if (error.code === 'internal') {
      this.logger.error(
        `${request.method} ${request.url} failed: ${describe(error.cause ?? error)}`,
      );
    }
    const { status, headers } = httpAnswerOf(error);
    if (response.headersSent) {
      // A streamed answer already started; all that is left is to cut it short.
      response.destroy();
      return;
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    const report = findingsOf(error);
    response.status(status).json({
      error: {
        code: error.code,
        message: error.message,
        violations: error.violations,
        details: error.details,
        ...(report === undefined ? {} : { findings: report.findings, tests: report.tests }),
      },
    });
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
