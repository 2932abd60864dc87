import { type DeployError, ResourceExhaustedError, httpStatusByCode } from '@caracal-deploy/errors';

/**
 * An error whose HTTP status refines the one `httpStatusByCode` gives its code.
 * The code stays one of the closed set (what gRPC callers and logs see); only
 * the HTTP answer is more specific where HTTP has a better word for it.
 */
export interface HttpRefined {
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

/** The HTTP status and extra headers of an error: refinement first, then the shared mapping. */
export function httpAnswerOf(error: DeployError): {
  status: number;
  headers: Readonly<Record<string, string>>;
} {
  if (isHttpRefined(error)) return { status: error.httpStatus, headers: error.headers ?? {} };
  return { status: httpStatusByCode[error.code], headers: {} };
}
