import { randomUUID } from 'node:crypto';

import type { RuntimeDecision, ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import type { DecisionEventPublisher } from '@caracal-deploy/decision-events';
import { ResourceExhaustedError } from '@caracal-deploy/errors';

import type { StsMetrics } from '../metrics/sts-metrics.js';
import type { BindingFacts } from '../sources/active-binding.grpc-reader.js';

/** A decision made and audited. */
export interface AuditedDecision extends RuntimeDecision {
  /** Id of the audit event (and decision log) written for it. */
  readonly decisionId: string;
  readonly requestId: string;
}

/** What one decision call carries besides the input. */
export interface DecideCall {
  readonly zoneId: string;
  readonly requestId: string;
  /** `token.exchange` or `gateway.decide`. */
  readonly eventType: string;
  readonly input: Readonly<Record<string, unknown>>;
  /** Extra audit facts (resource, trace id…). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Options of {@link DecisionEngine}. */
export interface DecisionEngineOptions {
  readonly runtimes: ReadonlyMap<string, ZonePolicyRuntime>;
  readonly publisher: Pick<DecisionEventPublisher, 'admit' | 'publish'>;
  readonly metrics: StsMetrics;
  /** The policy-set version of a revision, for audit events. */
  readonly bindingFacts?: (zoneId: string, revision: string | null) => BindingFacts | undefined;
}

/**
 * The STS decision path shared by the token endpoint and gRPC Decide: evaluate
 * on the zone's runtime (fail closed), count and time it, and queue its audit
 * event and decision log. When the audit buffer is full it throws
 * {@link ResourceExhaustedError}: a caller must then not act on the decision.
 */
export class DecisionEngine {
  constructor(private readonly options: DecisionEngineOptions) {}

  /** Whether this replica serves `zoneId`. */
  serves(zoneId: string): boolean {
    return this.options.runtimes.has(zoneId);
  }

  /** Decides and audits; the zone must be served (check {@link serves} first). */
  decide(call: DecideCall): AuditedDecision {
    const runtime = this.options.runtimes.get(call.zoneId);
    if (!runtime) throw new Error(`zone ${call.zoneId} is not served by this replica`);
    try {
      // Refuse before evaluating: under backpressure a decision nobody may act on costs nothing.
      this.options.publisher.admit();
      const stop = this.options.metrics.decisionSeconds.startTimer();
      const decision = runtime.decide(call.input);
      stop();
      const decisionId = randomUUID();
      const facts = this.options.bindingFacts?.(call.zoneId, decision.revision);
      this.options.publisher.publish({
        decisionId,
        requestId: call.requestId,
        zoneId: call.zoneId,
        eventType: call.eventType,
        decision: decision.decision,
        evaluationStatus: decision.evaluationStatus,
        revision: decision.revision,
        ...(facts
          ? { policySetId: facts.policySetId, policySetVersionId: facts.policySetVersionId }
          : {}),
        input: call.input,
        result: decision.result,
        ...(decision.inputJson === undefined ? {} : { inputJson: decision.inputJson }),
        ...(decision.resultJson === undefined ? {} : { resultJson: decision.resultJson }),
        occurredAt: new Date(),
        metadata: { ...call.metadata, ...(decision.reason ? { reason: decision.reason } : {}) },
      });
      this.options.metrics.decisions.inc({ zone: call.zoneId, decision: decision.decision });
      return { ...decision, decisionId, requestId: call.requestId };
    } catch (error) {
      if (error instanceof ResourceExhaustedError) this.options.metrics.auditRejected.inc();
      throw error;
    }
  }
}
