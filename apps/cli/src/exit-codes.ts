/**
 * Exit codes of `caracal-deploy`, stable so CI can branch on them (documented
 * in apps/cli/README.md).
 */
export const ExitCode = {
  /** The command did what was asked and every gate passed. */
  ok: 0,
  /** An unexpected failure (a bug, or an answer outside the contract). */
  internal: 1,
  /** Unknown command or flag, a missing argument, or an unreadable input file. */
  usage: 2,
  /** The validator found errors (a 422, an invalid verdict, or a failed `version_validated` pre-flight). */
  validationFailed: 3,
  /** A simulation case failed, or a replay gate did not pass (`fail` or `no_data`). */
  gateFailed: 4,
  /** The deployment failed verification, was rolled back or aborted, or an activation stalled. */
  verificationFailed: 5,
  /** The Admin API (or a service behind it) cannot be reached. */
  unreachable: 6,
  /** No token, or a token the API refuses (401) or whose role is too weak (403). */
  authFailed: 7,
  /** The API refused the request: a malformed field (400), not found (404) or a conflict (409). */
  refused: 8,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
