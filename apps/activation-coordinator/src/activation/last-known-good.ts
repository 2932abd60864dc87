/**
 * Which policy-set versions of a zone have a failed verification verdict. Until
 * the verification aggregator supplies verdicts, none has; this is the seam
 * where its verdicts join the last-known-good choice.
 */
export interface VerificationVerdicts {
  failedVersions(zoneId: string): Promise<readonly string[]>;
}

/** Injection token of the {@link VerificationVerdicts} source. */
export const VERIFICATION_VERDICTS = Symbol('VERIFICATION_VERDICTS');

/** The verdict source used before verification exists: no version has failed. */
export class NoVerificationVerdicts implements VerificationVerdicts {
  failedVersions(): Promise<readonly string[]> {
    return Promise.resolve([]);
  }
}
