export {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  DeployError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  errorCodes,
  errorFromCode,
  isErrorCode,
  toDeployError,
} from './deploy-error.js';
export type { DeployErrorOptions, ErrorCode, FieldViolation } from './deploy-error.js';
export { errorCodeOfGrpcStatus, grpcStatusByCode, httpStatusByCode } from './status-codes.js';
