export { JwtError, es256Jwk, newJti, signEs256Jwt, verifyEs256Jwt } from './es256-jwt.js';
export type { Es256Jwk, JwtProblem, VerifyOptions } from './es256-jwt.js';
export {
  acceptedSubjectTokenTypes,
  accessTokenType,
  parseExchangeRequest,
  tokenExchangeGrant,
} from './exchange-request.js';
export type { ExchangeRequest, OAuthError, OAuthErrorCode } from './exchange-request.js';
export { accessTokenClaims, tokenResponse } from './issued-token.js';
export type { IssueInput } from './issued-token.js';
