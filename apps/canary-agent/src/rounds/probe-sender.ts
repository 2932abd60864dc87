import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import type { Probe } from '../probes/probe.js';
import { describe, TokenExchangeError, type CanaryTokens } from '../tokens/canary-tokens.js';
import type { ProbeObservation } from './probe-report.js';

/** Where and how long one probe goes. */
export interface ProbeSenderOptions {
  /** Base URL of the region's Gateway, without a trailing slash. */
  readonly gatewayUrl: string;
  /** Deadline of one probe, token exchange included, ms. */
  readonly timeoutMs: number;
  readonly tokens: Pick<CanaryTokens, 'credential' | 'forget'>;
  /** Clock in milliseconds since the epoch, for tests. */
  readonly now?: () => number;
}

/**
 * Sends one probe through the Gateway with a fresh `x-request-id` and the
 * canary principal's access token, and records what came back: status, the
 * decision headers, latency, or the transport error. Never throws.
 */
export class ProbeSender {
  private readonly now: () => number;

  constructor(private readonly options: ProbeSenderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The observation of `probe` in `round`. */
  async send(probe: Probe, round: number): Promise<ProbeObservation> {
    const requestId = randomUUID();
    const sentAt = this.now();
    const started = performance.now();
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const base = {
      probeId: probe.id,
      round,
      zoneId: probe.zone,
      expectedDecision: probe.expectedDecision,
      sentAtUnixMillis: sentAt,
    };
    const failed = (message: string): ProbeObservation => ({
      ...base,
      requestId,
      httpStatus: 0,
      observedDecision: '',
      decisionId: '',
      observedRevision: '',
      latencyMs: performance.now() - started,
      transportError: message,
      answeredBy: 'none',
    });
    let accessToken: string;
    try {
      const credential = await this.options.tokens.credential(probe, signal);
      if (credential.kind === 'denied') {
        return {
          ...base,
          requestId: credential.requestId,
          httpStatus: credential.httpStatus,
          observedDecision: credential.decision,
          decisionId: credential.decisionId,
          observedRevision: credential.revision,
          latencyMs: performance.now() - started,
          transportError: '',
          answeredBy: 'sts',
        };
      }
      accessToken = credential.accessToken;
    } catch (error) {
      return failed(error instanceof TokenExchangeError ? error.message : describe(error));
    }
    try {
      const response = await fetch(`${this.options.gatewayUrl}${probe.path}`, {
        method: probe.method,
        headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': requestId },
        signal,
      });
      // The whole answer counts: latency is to the last byte, and the connection is freed for reuse.
      await response.arrayBuffer();
      if (response.status === 401) this.options.tokens.forget(probe);
      return {
        ...base,
        requestId: response.headers.get('x-request-id') ?? requestId,
        httpStatus: response.status,
        observedDecision: response.headers.get('x-caracal-decision') ?? '',
        decisionId: response.headers.get('x-caracal-decision-id') ?? '',
        observedRevision: response.headers.get('x-caracal-policy-revision') ?? '',
        latencyMs: performance.now() - started,
        transportError: '',
        answeredBy: 'gateway',
      };
    } catch (error) {
      return failed(`Gateway ${this.options.gatewayUrl}: ${describe(error)}`);
    }
  }
}
