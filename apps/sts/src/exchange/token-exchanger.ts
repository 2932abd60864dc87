import type { KeyObject } from 'node:crypto';

import { DeployError, NotFoundError, ResourceExhaustedError } from '@caracal-deploy/errors';
import {
  JwtError,
  accessTokenClaims,
  newJti,
  parseExchangeRequest,
  signEs256Jwt,
  tokenResponse,
  verifyEs256Jwt,
} from '@caracal-deploy/token-exchange';

import type { CatalogCache } from '../catalog/catalog-cache.js';
import type { AuditedDecision, DecisionEngine } from '../decision/decision-engine.js';
import type { CatalogResource } from '../sources/admin-api.client.js';
import { buildPolicyInput, traceIdOf } from './policy-input.js';

/** An HTTP answer of the token endpoint: status, JSON body, extra headers. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: object;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link TokenExchanger}. */
export interface TokenExchangerOptions {
  readonly engine: Pick<DecisionEngine, 'decide' | 'serves'>;
  readonly catalog: Pick<CatalogCache, 'resolve'>;
  /** Zone of subject tokens without a `zone_id` claim. */
  readonly defaultZone: string;
  readonly subject: {
    readonly issuer: string;
    readonly key: (kid: string | undefined) => KeyObject | undefined;
    readonly audience?: string;
  };
  readonly issuing: {
    readonly issuer: string;
    readonly privateKey: KeyObject;
    readonly keyId: string;
    readonly ttlSeconds: number;
  };
  /** Receives failures hidden from callers (answered as `server_error`). */
  readonly logError: (message: string, error: unknown) => void;
  /** Clock in seconds since the epoch, for tests. */
  readonly now?: () => number;
}

/** The request facts besides the form: request id and W3C trace context. */
export interface ExchangeContext {
  readonly requestId: string;
  readonly traceparent?: string;
}

/** An OAuth error answer (RFC 6749 §5.2 shape; `invalid_token` per RFC 6750 for bad subject tokens). */
export function oauthError(
  status: number,
  error: string,
  description: string,
  extra: Readonly<Record<string, unknown>> = {},
): HttpAnswer {
  return { status, body: { error, error_description: description, ...extra } };
}

/**
 * Maps a failure of the exchange's dependencies to an answer: a full audit
 * buffer or an unreachable Admin API is 503 `temporarily_unavailable` (retry);
 * anything else is 500 `server_error` with the cause logged, never sent.
 */
export function failureAnswer(
  error: unknown,
  logError: TokenExchangerOptions['logError'],
): HttpAnswer {
  if (error instanceof ResourceExhaustedError) {
    return {
      ...oauthError(
        503,
        'temporarily_unavailable',
        'the audit log is backed up; no token is issued without an audit record, retry later',
      ),
      headers: { 'retry-after': '1' },
    };
  }
  if (error instanceof DeployError && error.code === 'unavailable') {
    logError('a dependency of the token exchange is unavailable', error);
    return {
      ...oauthError(
        503,
        'temporarily_unavailable',
        'a dependency of the STS is unavailable, retry later',
      ),
      headers: { 'retry-after': '1' },
    };
  }
  logError('token exchange failed', error);
  return oauthError(500, 'server_error', 'internal error');
}

/**
 * RFC 8693 token exchange: parse the form, verify the subject (and actor) token,
 * resolve each `resource` in the zone's catalog, decide each on the zone's
 * bundle (audited; fail closed), and mint an ES256 access token only when every
 * decision is an allow and its audit event is queued.
 */
export class TokenExchanger {
  private readonly now: () => number;

  constructor(private readonly options: TokenExchangerOptions) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Answers one token request (form parameters, repeated keys as arrays). */
  async exchange(
    params: Readonly<Record<string, string | readonly string[] | undefined>>,
    context: ExchangeContext,
  ): Promise<HttpAnswer> {
    try {
      return await this.run(params, context);
    } catch (error) {
      return failureAnswer(error, this.options.logError);
    }
  }

  private async run(
    params: Readonly<Record<string, string | readonly string[] | undefined>>,
    context: ExchangeContext,
  ): Promise<HttpAnswer> {
    const parsed = parseExchangeRequest(params);
    if (!parsed.ok) return { status: 400, body: parsed.error };
    const request = parsed.request;

    const subject = this.verify(request.subjectToken, 'subject_token');
    if (subject.answer) return subject.answer;
    const subjectClaims = subject.claims;
    let actorClaims: Record<string, unknown> = {};
    if (request.actorToken) {
      const actor = this.verify(request.actorToken, 'actor_token');
      if (actor.answer) return actor.answer;
      actorClaims = actor.claims;
    }

    const zoneClaim = subjectClaims['zone_id'];
    if (zoneClaim !== undefined && typeof zoneClaim !== 'string') {
      return oauthError(401, 'invalid_token', 'subject_token: zone_id must be a string');
    }
    const zoneId = zoneClaim ?? this.options.defaultZone;
    if (!this.options.engine.serves(zoneId)) {
      return oauthError(
        400,
        'invalid_target',
        `zone ${JSON.stringify(zoneId)} is not served by this STS`,
      );
    }

    const resources: CatalogResource[] = [];
    for (const identifier of request.resources) {
      let resource: CatalogResource | undefined;
      try {
        resource = await this.options.catalog.resolve(zoneId, identifier);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      if (!resource) {
        return oauthError(
          400,
          'invalid_target',
          `resource ${identifier} is not in the catalog of zone ${zoneId}`,
        );
      }
      const missing = request.scopes.filter((scope) => !resource.scopes.includes(scope));
      if (missing.length > 0) {
        return oauthError(
          400,
          'invalid_scope',
          `resource ${identifier} does not offer scope ${missing.join(', ')} (offers: ${resource.scopes.join(' ') || 'none'})`,
        );
      }
      resources.push(resource);
    }

    const traceId = traceIdOf(context.traceparent);
    let last: AuditedDecision | undefined;
    for (const resource of resources) {
      const decision = this.options.engine.decide({
        zoneId,
        requestId: context.requestId,
        eventType: 'token.exchange',
        input: buildPolicyInput({
          zoneId,
          subjectClaims,
          actorClaims,
          resource,
          requestedScopes: request.scopes,
          ...(traceId ? { traceId } : {}),
        }),
        metadata: { resource: resource.identifier, ...(traceId ? { trace_id: traceId } : {}) },
      });
      last = decision;
      if (decision.decision !== 'allow') {
        return {
          ...oauthError(
            403,
            'access_denied',
            decision.reason === 'no_active_policy_set'
              ? `zone ${zoneId} has no active policy set; every exchange is denied`
              : `the policy of zone ${zoneId} denied access to ${resource.identifier}`,
            {
              decision_id: decision.decisionId,
              ...(decision.reason ? { reason: decision.reason } : {}),
            },
          ),
          headers: decisionHeaders(decision),
        };
      }
    }

    const issue = {
      issuer: this.options.issuing.issuer,
      subject: String(subjectClaims['sub']),
      subjectType:
        subjectClaims['sub_type'] === 'application' ? ('application' as const) : ('user' as const),
      clientId: firstString(
        actorClaims['caracal_client_id'],
        actorClaims['client_id'],
        subjectClaims['client_id'],
        subjectClaims['azp'],
        subjectClaims['sub'],
      )!,
      zoneId,
      resources: resources.map((resource) => resource.identifier),
      scopes: request.scopes,
      sid: firstString(subjectClaims['sid'], last?.decisionId)!,
      rootSid: firstString(subjectClaims['root_sid'], subjectClaims['sid'], last?.decisionId)!,
      jti: newJti(),
      now: this.now(),
      ttlSeconds: this.options.issuing.ttlSeconds,
    };
    const token = signEs256Jwt(
      accessTokenClaims(issue),
      this.options.issuing.privateKey,
      this.options.issuing.keyId,
    );
    return {
      status: 200,
      body: tokenResponse(token, issue),
      headers: last ? decisionHeaders(last) : {},
    };
  }

  private verify(
    token: string,
    parameter: string,
  ): { claims: Record<string, unknown>; answer?: undefined } | { answer: HttpAnswer } {
    try {
      const claims = verifyEs256Jwt(token, {
        key: this.options.subject.key,
        issuer: this.options.subject.issuer,
        now: this.now(),
        ...(this.options.subject.audience ? { audience: this.options.subject.audience } : {}),
      });
      return { claims };
    } catch (error) {
      if (error instanceof JwtError) {
        return {
          answer: oauthError(401, 'invalid_token', `${parameter}: ${error.message}`, {
            problem: error.problem,
          }),
        };
      }
      throw error;
    }
  }
}

function decisionHeaders(decision: AuditedDecision): Record<string, string> {
  return {
    'x-caracal-decision': decision.decision,
    'x-caracal-decision-id': decision.decisionId,
    ...(decision.revision ? { 'x-caracal-policy-revision': decision.revision } : {}),
  };
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value.length > 0);
}
