/** Names of zones, policies, policy sets and resource slugs: lowercase, digits, dashes. */
export const slugPattern = /^[a-z0-9][a-z0-9-]*$/;

/** Longest accepted slug; keeps identifiers readable in URLs and logs. */
export const maxSlugLength = 63;

/** Canonical resource identifier: `resource://<slug>`. */
export const resourceIdentifierPattern = /^resource:\/\/([a-z0-9][a-z0-9-]*)$/;

/** The slug of a canonical resource identifier, or undefined when it is not one. */
export function resourceSlug(identifier: string): string | undefined {
  const match = resourceIdentifierPattern.exec(identifier);
  return match?.[1] !== undefined && match[1].length <= maxSlugLength ? match[1] : undefined;
}

/** A UUID in the lowercase textual form PostgreSQL writes (what entity ids are). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A lowercase hex sha256 (content addresses, manifest shas, bundle shas). */
export const sha256Pattern = /^[0-9a-f]{64}$/;

/** True for a UUID in its canonical textual form (what version ids are). */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/** True for a lowercase hex sha256. */
export function isSha256(value: string): boolean {
  return sha256Pattern.test(value);
}
