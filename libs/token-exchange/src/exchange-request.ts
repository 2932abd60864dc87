/** RFC 8693 grant type of a token exchange. */
export const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Token type of the access tokens the STS issues. */
export const accessTokenType = 'urn:ietf:params:oauth:token-type:access_token';
/** Subject token types the STS accepts. */
export const acceptedSubjectTokenTypes = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:access_token',
  'urn:ietf:params:oauth:token-type:id_token',
] as const;

/** OAuth error codes a token endpoint answers with (RFC 6749 §5.2, RFC 8693 §2.2.2). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_target'
  | 'invalid_scope'
  | 'access_denied';

/** An OAuth error response body; `error_description` names the parameter and the problem. */
export interface OAuthError {
  readonly error: OAuthErrorCode;
  readonly error_description: string;
}

/** A well-formed token-exchange request. */
export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly subjectTokenType: string;
  /** `resource` values: catalog identifiers (`resource://<slug>`). */
  readonly resources: readonly string[];
  /** Requested scopes (the space-separated `scope` parameter), deduplicated in order. */
  readonly scopes: readonly string[];
  readonly actorToken?: string;
  readonly actorTokenType?: string;
}

const resourcePattern = /^resource:\/\/[a-z0-9][a-z0-9-]*$/;
const scopePattern = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Parses an RFC 8693 token-exchange request (form parameters, repeated keys as
 * arrays) into an {@link ExchangeRequest} or the OAuth error a client can act on:
 * which parameter is missing, repeated, or malformed, and what was expected.
 */
export function parseExchangeRequest(
  params: Readonly<Record<string, string | readonly string[] | undefined>>,
): { ok: true; request: ExchangeRequest } | { ok: false; error: OAuthError } {
  const fail = (error: OAuthErrorCode, description: string) => ({
    ok: false as const,
    error: { error, error_description: description },
  });
  const single = (name: string): string | undefined | OAuthError => {
    const value: string | readonly string[] | undefined = params[name];
    if (typeof value === 'string' || value === undefined) return value;
    if (value.length > 1) {
      return {
        error: 'invalid_request',
        error_description: `${name} must be given once, got ${value.length} values`,
      };
    }
    return value[0];
  };
  const read = (name: string) => {
    const value = single(name);
    if (typeof value === 'object') return { error: value };
    return { value: value === '' ? undefined : value };
  };

  const grant = read('grant_type');
  if (grant.error) return { ok: false, error: grant.error };
  if (grant.value === undefined)
    return fail('invalid_request', `grant_type is required: ${tokenExchangeGrant}`);
  if (grant.value !== tokenExchangeGrant) {
    return fail(
      'unsupported_grant_type',
      `grant_type ${JSON.stringify(grant.value)} is not supported; use ${tokenExchangeGrant}`,
    );
  }
  const subject = read('subject_token');
  if (subject.error) return { ok: false, error: subject.error };
  if (!subject.value) return fail('invalid_request', 'subject_token is required');
  const subjectType = read('subject_token_type');
  if (subjectType.error) return { ok: false, error: subjectType.error };
  if (!subjectType.value) return fail('invalid_request', 'subject_token_type is required');
  if (!(acceptedSubjectTokenTypes as readonly string[]).includes(subjectType.value)) {
    return fail(
      'invalid_request',
      `subject_token_type ${JSON.stringify(subjectType.value)} is not accepted; use one of ${acceptedSubjectTokenTypes.join(', ')}`,
    );
  }
  const actor = read('actor_token');
  const actorType = read('actor_token_type');
  if (actor.error) return { ok: false, error: actor.error };
  if (actorType.error) return { ok: false, error: actorType.error };
  if (actor.value && !actorType.value)
    return fail('invalid_request', 'actor_token_type is required with actor_token');
  if (!actor.value && actorType.value)
    return fail('invalid_request', 'actor_token_type was given without actor_token');

  const rawResources = params['resource'];
  const resources = (
    Array.isArray(rawResources) ? rawResources : rawResources ? [rawResources] : []
  ) as string[];
  if (resources.length === 0)
    return fail('invalid_target', 'resource is required: the resource://<slug> the token is for');
  const badResource = resources.find((resource) => !resourcePattern.test(resource));
  if (badResource !== undefined) {
    return fail(
      'invalid_target',
      `resource ${JSON.stringify(badResource)} is not a resource identifier (resource://<slug>)`,
    );
  }
  const scope = read('scope');
  if (scope.error) return { ok: false, error: scope.error };
  const scopes = [...new Set((scope.value ?? '').split(' ').filter((item) => item.length > 0))];
  if (scopes.length === 0)
    return fail('invalid_scope', 'scope is required: the space-separated scopes requested');
  const badScope = scopes.find((item) => !scopePattern.test(item));
  if (badScope !== undefined)
    return fail(
      'invalid_scope',
      `scope ${JSON.stringify(badScope)} has characters RFC 6749 does not allow`,
    );

  return {
    ok: true,
    request: {
      subjectToken: subject.value,
      subjectTokenType: subjectType.value,
      resources: [...new Set(resources)],
      scopes,
      ...(actor.value ? { actorToken: actor.value, actorTokenType: actorType.value } : {}),
    },
  };
}
