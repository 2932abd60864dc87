import { accessTokenType } from './exchange-request.js';

/** What the STS knows when it mints an access token after an allow. */
export interface IssueInput {
  readonly issuer: string;
  readonly subject: string;
  readonly subjectType: 'user' | 'application';
  readonly clientId: string;
  readonly zoneId: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  /** Authority record id of this exchange and of its root. */
  readonly sid: string;
  readonly rootSid: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly ttlSeconds: number;
  /** Governed session and delegation facts, when the exchange had them. */
  readonly agentSessionId?: string;
  readonly delegationEdgeId?: string;
  readonly delegationPath?: readonly string[];
}

/** Claims of an issued access token (caracal-jwt-claims-2026-05-21). */
export function accessTokenClaims(input: IssueInput): Record<string, unknown> {
  return {
    iss: input.issuer,
    sub: input.subject,
    aud: input.resources.length === 1 ? input.resources[0] : [...input.resources],
    exp: input.now + input.ttlSeconds,
    iat: input.now,
    jti: input.jti,
    zone_id: input.zoneId,
    client_id: input.clientId,
    scope: input.scopes.join(' '),
    sid: input.sid,
    root_sid: input.rootSid,
    use: 'resource',
    sub_type: input.subjectType,
    target: [...input.resources],
    ...(input.agentSessionId ? { agent_session_id: input.agentSessionId } : {}),
    ...(input.delegationEdgeId ? { delegation_edge_id: input.delegationEdgeId } : {}),
    ...(input.delegationPath
      ? { delegation_path: [...input.delegationPath], hop_count: input.delegationPath.length }
      : {}),
  };
}

/** The RFC 8693 success body (caracal-token-response-2026-05-21). */
export function tokenResponse(
  accessToken: string,
  input: Pick<IssueInput, 'ttlSeconds' | 'scopes' | 'resources'>,
) {
  return {
    access_token: accessToken,
    token_type: 'Bearer' as const,
    expires_in: input.ttlSeconds,
    scope: input.scopes.join(' '),
    issued_token_type: accessTokenType,
    target_resources: [...input.resources],
  };
}
