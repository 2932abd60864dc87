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
  UnauthenticatedError,
  httpStatusByCode,
  toDeployError,
} from '@caracal-deploy/errors';

import type { WebhookRequest, WebhookResponse } from './http-types.js';
import { PayloadTooLargeError } from './raw-body.middleware.js';

/** Nest's own HTTP exceptions (unknown route, …) expressed in the closed error set. */
function fromNestException(exception: HttpException, request: WebhookRequest): DeployError {
  const status = exception.getStatus();
  if (status === 404) return new NotFoundError(`no route ${request.method} ${request.url}`);
  if (status === 401) return new UnauthenticatedError(exception.message);
  if (status >= 400 && status < 500) return new InvalidArgumentError(exception.message);
  return toDeployError(exception);
}

/**
 * The one place the receivers' HTTP errors are written, in admin-api's shape:
 * `{ error: { code, message, violations, details } }` with the status of its
 * code (413 for an oversized body). A 503 tells Alertmanager and Grafana to
 * retry; unknown throws answer 500 "internal error" and only the log sees the cause.
 */
@Catch()
export class WebhookErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Webhooks');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<WebhookRequest>();
    const response = http.getResponse<WebhookResponse>();
    const error =
      exception instanceof HttpException
        ? fromNestException(exception, request)
        : toDeployError(exception);
    if (error.code === 'internal') {
      this.logger.error(
        `${request.method} ${request.url} failed: ${describe(error.cause ?? error)}`,
      );
    } else if (error.code === 'unavailable') {
      this.logger.warn(`${request.method} ${request.url}: ${error.message}`);
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const status = error instanceof PayloadTooLargeError ? 413 : httpStatusByCode[error.code];
    response.status(status).json({
      error: {
        code: error.code,
        message: error.message,
        violations: error.violations,
        details: error.details,
      },
    });
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
