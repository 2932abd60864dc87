import { KeyedProducer, createKafka } from '@caracal-deploy/kafka';

/** The facts of one audit event a test writes. */
export interface TestAuditEvent {
  readonly requestId: string;
  readonly zoneId: string;
  readonly decision: 'allow' | 'deny';
  /** Hex manifest sha256; null for a decision made without a bundle. */
  readonly revision: string | null;
  readonly policySetVersionId: string;
  /** Determining policy ids (the policy result's `determining_policies`). */
  readonly determiningPolicies?: readonly string[];
}

/**
 * The caracal-audit-event-2026-05-21 record of `event`, field for field as the
 * STS builds it (libs/decision-events `auditEvent`, which this control-plane
 * app may not import).
 */
export function auditRecord(event: TestAuditEvent): Record<string, unknown> {
  return {
    id: `decision-${event.requestId}`,
    zone_id: event.zoneId,
    event_type: 'gateway.decide',
    request_id: event.requestId,
    decision: event.decision,
    policy_set_id: 'set-1',
    policy_set_version_id: event.policySetVersionId,
    ...(event.revision ? { manifest_sha: `sha256:${event.revision}` } : {}),
    evaluation_status: 'complete',
    determining_policies_json: (event.determiningPolicies ?? ['canary-policy']).map((id) => ({
      id,
    })),
    diagnostics_json: [],
    metadata_json: {},
    occurred_at: new Date().toISOString(),
  };
}

/**
 * Writes audit events to a real Kafka topic as the STS does: keyed by zone,
 * through the idempotent keyed producer.
 */
export class AuditEventWriter {
  private readonly producer: KeyedProducer;

  constructor(
    brokers: readonly string[],
    private readonly topic: string,
  ) {
    this.producer = new KeyedProducer(createKafka({ brokers, clientId: 'verification-tests' }));
  }

  /** Writes one event per entry. */
  async write(...events: TestAuditEvent[]): Promise<void> {
    await this.producer.sendKeyed(
      this.topic,
      events.map((event) => ({
        key: event.zoneId,
        value: JSON.stringify(auditRecord(event)),
      })),
    );
  }

  /** Closes the producer. */
  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
