import { type ArgumentsHost, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import {
  type DeployError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  toDeployError,
} from '@caracal-deploy/errors';

import { httpAnswerOf } from './http-refined.js';
import type { HttpRequest, HttpResponse } from './http-types.js';

/** Options of an {@link HttpErrorFilter}. */
export interface HttpErrorFilterOptions {
  /** Logger context of the filter's log lines. */
  readonly logContext: string;
  /** Also log `unavailable` answers (as warnings), for callers that retry on them. */
  readonly warnUnavailable?: boolean;
}

/** Nest's own HTTP exceptions (unknown route, …) expressed in the closed error set. */
function fromNestException(exception: HttpException, request: HttpRequest): DeployError {
  const status = exception.getStatus();
  if (status === 404) return new NotFoundError(`no route ${request.method} ${request.url}`);
  if (status === 401) return new UnauthenticatedError(exception.message);
  if (status === 403) return new PermissionDeniedError(exception.message);
  if (status >= 400 && status < 500) return new InvalidArgumentError(exception.message);
  return toDeployError(exception);
}

/**
 * The one place an app's HTTP errors are written: every throw becomes
 * `{ error: { code, message, violations, details } }` with the status of its
 * code, or the refined one of an {@link HttpRefined} error. Unknown throws
 * answer 500 "internal error" and only the log sees the cause. Apps subclass
 * it with `@Catch()`.
 */
export class HttpErrorFilter implements ExceptionFilter {
  protected readonly logger: Logger;

  constructor(private readonly options: HttpErrorFilterOptions) {
    this.logger = new Logger(options.logContext);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const response = http.getResponse<HttpResponse>();
    const error =
      exception instanceof HttpException
        ? fromNestException(exception, request)
        : toDeployError(exception);
    const route = `${request.method} ${request.url}`;
    if (error.code === 'internal') {
      this.logger.error(`${route} failed: ${describe(error.cause ?? error)}`);
    } else if (error.code === 'unavailable' && this.options.warnUnavailable === true) {
      this.logger.warn(`${route}: ${error.message}`);
    }
    const { status, headers } = httpAnswerOf(error);
    if (response.headersSent) {
      // A streamed answer already started; all that is left is to cut it short.
      response.destroy();
      return;
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.status(status).json({
      error: {
        code: error.code,
        message: error.message,
        violations: error.violations,
        details: error.details,
        ...this.extraFields(error),
      },
    });
  }

  /** Fields an app adds to the error body after `details`; none by default. */
  protected extraFields(_error: DeployError): Readonly<Record<string, unknown>> {
    return {};
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
