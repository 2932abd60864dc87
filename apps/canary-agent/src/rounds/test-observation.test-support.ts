import type { ProbeObservation } from './probe-report.js';

/** An observation of probe `probeId` in `round`, answered unless `transportError` is given. */
export function observation(
  requestId: string,
  overrides: Partial<ProbeObservation> = {},
): ProbeObservation {
  return {
    probeId: 'orders-read',
    round: 1,
    requestId,
    zoneId: 'zone-a',
    expectedDecision: 'allow',
    httpStatus: 200,
    observedDecision: 'allow',
    decisionId: `decision-${requestId}`,
    observedRevision: 'rev-1',
    latencyMs: 3,
    transportError: '',
    sentAtUnixMillis: 1_700_000_000_000,
    answeredBy: overrides.transportError ? 'none' : 'gateway',
    ...overrides,
  };
}
