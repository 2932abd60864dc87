import { Decision, type ProbeReportSchema } from '@caracal-deploy/contracts';
import type { MessageInitShape } from '@bufbuild/protobuf';

import type { ExpectedDecision } from '../probes/probe.js';

/** What one probe of one round observed; becomes a `ProbeReport` on the aggregator stream. */
export interface ProbeObservation {
  readonly probeId: string;
  readonly round: number;
  /** The fresh request id the probe carried (the audit event carries it too). */
  readonly requestId: string;
  readonly zoneId: string;
  readonly expectedDecision: ExpectedDecision;
  /** 0 when no answer came. */
  readonly httpStatus: number;
  readonly observedDecision: string;
  readonly decisionId: string;
  readonly observedRevision: string;
  readonly latencyMs: number;
  /** Non-empty when the probe got no answer (timeout, refused, token exchange failed). */
  readonly transportError: string;
  readonly sentAtUnixMillis: number;
  /** Who answered: the Gateway, the STS (the policy denied the principal's exchange), or nobody. */
  readonly answeredBy: 'gateway' | 'sts' | 'none';
}

/** The wire `ProbeReport` of an observation, signed with the agent and region. */
export function toProbeReport(
  observation: ProbeObservation,
  agent: { readonly agentId: string; readonly region: string },
): MessageInitShape<typeof ProbeReportSchema> {
  return {
    agentId: agent.agentId,
    region: agent.region,
    probeId: observation.probeId,
    round: BigInt(observation.round),
    requestId: observation.requestId,
    zoneId: observation.zoneId,
    expectedDecision: observation.expectedDecision === 'allow' ? Decision.ALLOW : Decision.DENY,
    httpStatus: observation.httpStatus,
    observedDecision: observation.observedDecision,
    decisionId: observation.decisionId,
    observedRevision: observation.observedRevision,
    latencyMs: observation.latencyMs,
    transportError: observation.transportError,
    sentAtUnixMillis: BigInt(observation.sentAtUnixMillis),
  };
}
