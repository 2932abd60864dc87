import {
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
} from '@caracal-deploy/errors';

import type { OpaDiagnostic } from './diagnostics.js';

/** OPA rejected the policy or query; {@link OpaPolicyError.diagnostics} says where and why. */
export class OpaPolicyError extends InvalidArgumentError {
  constructor(
    message: string,
    /** One entry per problem OPA reported, with file, row and column when known. */
    readonly diagnostics: readonly OpaDiagnostic[],
  ) {
    super(message, {
      violations: diagnostics.map((diagnostic) => ({
        field:
          diagnostic.file === ''
            ? diagnostic.code
            : `${diagnostic.file}:${diagnostic.row}:${diagnostic.col}`,
        problem: `${diagnostic.code}: ${diagnostic.message}`,
      })),
    });
  }
}

/** The `opa` process failed in a way that is not about the policy (crash, timeout, unreadable output). */
export class OpaCommandError extends InternalError {
  constructor(
    message: string,
    /** Arguments the binary was run with. */
    readonly args: readonly string[],
    /** Captured standard error, for logs. */
    readonly stderr: string,
    cause?: unknown,
    /** Exit code when the process ran to completion; undefined when it could not run, was killed or crashed. */
    readonly exitCode?: number,
  ) {
    super(message, cause === undefined ? {} : { cause });
  }
}

/** The error for a missing or non-executable `opa` binary, with the fix. */
export function opaBinaryMissing(bin: string, cause: unknown): FailedPreconditionError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new FailedPreconditionError(
    `OPA CLI not found or not executable at ${bin}${typeof code === 'string' ? ` (${code})` : ''}. ` +
      'Run `npm run infra -- up` to install it, or set CARACAL_OPA_BIN to an opa binary.',
    { cause, details: { bin } },
  );
}
