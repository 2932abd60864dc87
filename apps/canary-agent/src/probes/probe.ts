/** The decision a probe expects the Gateway to apply. */
export type ExpectedDecision = 'allow' | 'deny';

/**
 * A canary probe: a canary principal (the claims of its subject token) and one
 * request through the Gateway with the decision it must get. Stable across
 * rounds; each round sends it with a fresh request id.
 */
export interface Probe {
  /** Stable id in every report (`case:<name>` for probes derived from expected cases). */
  readonly id: string;
  readonly zone: string;
  /** Claims of the canary principal's subject token (`sub` at least); `iss`, `aud`, `iat`, `exp` are added. */
  readonly subjectClaims: Readonly<Record<string, unknown>>;
  /** The `resource` of the token exchange: the identifier of the resource the Gateway route fronts. */
  readonly resource: string;
  /** Scopes the access token is asked for. */
  readonly scopes: readonly string[];
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Absolute request path (and query) through the Gateway. */
  readonly path: string;
  readonly expectedDecision: ExpectedDecision;
}
