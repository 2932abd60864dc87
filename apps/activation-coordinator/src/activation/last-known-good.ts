import type { ActivationRepository, ActivationRow } from './activation.repository.js';

/**
 * Which policy-set versions of a zone passed or failed a deployment stage's
 * verification: the seam where verdicts join the last-known-good choice.
 */
export interface VerificationVerdicts {
  /** Versions a stage failed with in the zone: never known good. */
  failedVersions(zoneId: string): Promise<readonly string[]>;
  /** Versions a stage passed with in the zone: the known good ones. */
  passedVersions(zoneId: string): Promise<readonly string[]>;
}

/** Injection token of the {@link VerificationVerdicts} source. */
export const VERIFICATION_VERDICTS = Symbol('VERIFICATION_VERDICTS');

/** A verdict source with no verdicts: no version has passed or failed. */
export class NoVerificationVerdicts implements VerificationVerdicts {
  failedVersions(): Promise<readonly string[]> {
    return Promise.resolve([]);
  }

  passedVersions(): Promise<readonly string[]> {
    return Promise.resolve([]);
  }
}

/**
 * The version a rollback of the zone would activate while `currentVersionId`
 * is active: never a version with a failed verdict or one a rollback moved the
 * zone away from; the most recently activated version that passed a stage
 * when there is one, otherwise (a zone never verified by a deployment) the
 * most recently activated other version.
 */
export async function lastKnownGood(
  repository: ActivationRepository,
  verdicts: VerificationVerdicts,
  zoneId: string,
  currentVersionId: string,
): Promise<ActivationRow | undefined> {
  const [failed, rolledBack, passed] = await Promise.all([
    verdicts.failedVersions(zoneId),
    repository.rolledBackVersions(zoneId),
    verdicts.passedVersions(zoneId),
  ]);
  const excluded = new Set([...failed, ...rolledBack]);
  const good = passed.filter((version) => !excluded.has(version));
  if (good.length > 0) {
    const verified = await repository.lastActivatedOtherThan(zoneId, currentVersionId, [], good);
    if (verified) return verified;
  }
  return repository.lastActivatedOtherThan(zoneId, currentVersionId, [...excluded]);
}
