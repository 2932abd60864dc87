import { Counter, Histogram, type Registry } from 'prom-client';

/** Why the Gateway answered as it did; a label of {@link GatewayMetrics.requests}. */
export type Outcome =
  | 'forwarded'
  | 'policy_denied'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'too_large'
  | 'sts_unavailable'
  | 'zone_not_served'
  | 'no_route'
  | 'method_not_allowed'
  | 'bad_request'
  | 'upstream_error';

/** The Gateway's Prometheus series. */
export class GatewayMetrics {
  /** Requests by route prefix, decision (allow|deny) and outcome. */
  readonly requests: Counter<'route' | 'decision' | 'outcome'>;
  /** Time from request arrival to the last byte of the answer. */
  readonly requestSeconds: Histogram<'decision'>;
  /** Time from request arrival until it was forwarded upstream (the Gateway's own latency). */
  readonly overheadSeconds: Histogram;
  /** Time of one `StsService.Decide` exchange, failovers included. */
  readonly decideSeconds: Histogram;
  /** STS replica failures by address and error code (each one failed over or answered 503). */
  readonly stsFailures: Counter<'address' | 'code'>;
  /** JWKS fetches that failed, by URL. */
  readonly jwksFailures: Counter<'url'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'caracal_gateway_requests_total',
      help: 'Requests by route, decision (allow|deny) and outcome (forwarded, policy_denied, invalid_token, …).',
      labelNames: ['route', 'decision', 'outcome'],
      registers: [registry],
    });
    this.requestSeconds = new Histogram({
      name: 'caracal_gateway_request_seconds',
      help: 'Time from request arrival to the end of the answer, by decision.',
      labelNames: ['decision'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
    this.overheadSeconds = new Histogram({
      name: 'caracal_gateway_overhead_seconds',
      help: 'Time from request arrival until it is forwarded upstream (token check + STS decision).',
      buckets: [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    });
    this.decideSeconds = new Histogram({
      name: 'caracal_gateway_decide_seconds',
      help: 'Time of one StsService.Decide exchange, failovers included.',
      buckets: [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.1, 1],
      registers: [registry],
    });
    this.stsFailures = new Counter({
      name: 'caracal_gateway_sts_failures_total',
      help: 'Decide calls an STS replica failed, by address and error code.',
      labelNames: ['address', 'code'],
      registers: [registry],
    });
    this.jwksFailures = new Counter({
      name: 'caracal_gateway_jwks_fetch_failures_total',
      help: 'JWKS fetches that failed, by URL (the last keys of that URL stay trusted).',
      labelNames: ['url'],
      registers: [registry],
    });
  }
}
