import type { ErrorCode } from './deploy-error.js';

/**
 * gRPC status code per error code: the one place this mapping lives.
 * Numbers are the canonical gRPC codes, so this lib needs no gRPC dependency.
 */
export const grpcStatusByCode: Readonly<Record<ErrorCode, number>> = {
  cancelled: 1,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  aborted: 10,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
};

/** HTTP status per error code: the one place this mapping lives. */
export const httpStatusByCode: Readonly<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  // A stale expected version is a conflict with the current state (HTTP 409).
  failed_precondition: 409,
  aborted: 409,
  resource_exhausted: 429,
  cancelled: 499,
  internal: 500,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
};

/** The error code for a gRPC status number; unknown statuses map to `internal`. */
export function errorCodeOfGrpcStatus(status: number): ErrorCode {
  for (const [code, value] of Object.entries(grpcStatusByCode)) {
    if (value === status) return code as ErrorCode;
  }
  // gRPC UNKNOWN (2), DATA_LOSS (15) and anything new are not ours to interpret.
  return 'internal';
}
