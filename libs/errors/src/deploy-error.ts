/** Stable, wire-visible error codes; the closed set every service speaks. */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'aborted'
  | 'permission_denied'
  | 'unauthenticated'
  | 'resource_exhausted'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'unimplemented'
  | 'internal';

/** One precise complaint about one input field: which field, what was expected, what was seen. */
export interface FieldViolation {
  /** Dotted path of the offending field, e.g. `cases[3].input.resource`. */
  readonly field: string;
  /** What is wrong, in words a caller can act on. */
  readonly problem: string;
}

/** Options accepted by every {@link DeployError} subclass. */
export interface DeployErrorOptions {
  readonly cause?: unknown;
  readonly violations?: readonly FieldViolation[];
  /** Extra machine-readable facts (e.g. the zone's current active version on a conflict). */
  readonly details?: Readonly<Record<string, string>>;
}

/** Base of the closed error set: a stable code, a safe message, optional field violations. */
export abstract class DeployError extends Error {
  abstract readonly code: ErrorCode;
  readonly violations: readonly FieldViolation[];
  readonly details: Readonly<Record<string, string>>;

  constructor(message: string, options: DeployErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.violations = options.violations ?? [];
    this.details = options.details ?? {};
  }
}

/** The caller sent something malformed; {@link DeployError.violations} names the fields. */
export class InvalidArgumentError extends DeployError {
  readonly code = 'invalid_argument';
}

/** The addressed entity does not exist. */
export class NotFoundError extends DeployError {
  readonly code = 'not_found';
}

/** The entity to create exists already. */
export class AlreadyExistsError extends DeployError {
  readonly code = 'already_exists';
}

/** The system is not in the state the operation needs (e.g. a stale expected active version). */
export class FailedPreconditionError extends DeployError {
  readonly code = 'failed_precondition';
}

/** A concurrent change won; retrying the whole read-modify-write may succeed. */
export class AbortedError extends DeployError {
  readonly code = 'aborted';
}

/** The caller is known but its role does not allow the operation. */
export class PermissionDeniedError extends DeployError {
  readonly code = 'permission_denied';
}

/** The caller did not prove who it is. */
export class UnauthenticatedError extends DeployError {
  readonly code = 'unauthenticated';
}

/** A bound was hit (size, rate, buffer). */
export class ResourceExhaustedError extends DeployError {
  readonly code = 'resource_exhausted';
}

/** A dependency is down; the same call may succeed later. */
export class UnavailableError extends DeployError {
  readonly code = 'unavailable';
}

/** The operation did not finish before its deadline. */
export class DeadlineExceededError extends DeployError {
  readonly code = 'deadline_exceeded';
}

/** The caller cancelled the operation. */
export class CancelledError extends DeployError {
  readonly code = 'cancelled';
}

/** The operation is not implemented by this server. */
export class UnimplementedError extends DeployError {
  readonly code = 'unimplemented';
}

/** A bug or an unexpected failure; the message sent to callers never carries the cause. */
export class InternalError extends DeployError {
  readonly code = 'internal';
}

const constructors: Record<
  ErrorCode,
  new (message: string, options?: DeployErrorOptions) => DeployError
> = {
  invalid_argument: InvalidArgumentError,
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  failed_precondition: FailedPreconditionError,
  aborted: AbortedError,
  permission_denied: PermissionDeniedError,
  unauthenticated: UnauthenticatedError,
  resource_exhausted: ResourceExhaustedError,
  unavailable: UnavailableError,
  deadline_exceeded: DeadlineExceededError,
  cancelled: CancelledError,
  unimplemented: UnimplementedError,
  internal: InternalError,
};

/** Every code of the closed set, e.g. for validating a code read off the wire. */
export const errorCodes = Object.keys(constructors) as readonly ErrorCode[];

/** True when `value` is one of the closed set's codes. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(constructors, value);
}

/** Rebuilds a typed error from its code, e.g. on the client side of a transport. */
export function errorFromCode(
  code: ErrorCode,
  message: string,
  options?: DeployErrorOptions,
): DeployError {
  return new constructors[code](message, options);
}

/**
 * Turns anything thrown into a {@link DeployError}. Unknown throws become an
 * {@link InternalError} whose message is generic; the original stays in `cause`
 * for logs and is never sent to a caller.
 */
export function toDeployError(thrown: unknown): DeployError {
  if (thrown instanceof DeployError) return thrown;
  return new InternalError('internal error', { cause: thrown });
}
