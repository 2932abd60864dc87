export { AdminClient, allPages } from './admin-client.js';
export type { StreamOptions, Upserted } from './admin-client.js';
export {
  AdminApiError,
  ConflictError,
  errorFromAnswer,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  ProtocolError,
  UnauthorizedError,
  UnavailableError,
  UnreachableError,
  ValidationFailedError,
} from './errors.js';
export type { Finding, TestOutcome, Violation } from './errors.js';
export { defaultRetryPolicy } from './http-transport.js';
export type { ClientOptions, RetryPolicy } from './http-transport.js';
export type * from './gen/admin-api.types.js';
export { adminApiOperations } from './gen/admin-api.types.js';
