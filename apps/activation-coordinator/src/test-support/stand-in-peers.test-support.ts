// Test support: the verification aggregator and the rollback controller stood in
// for at their gRPC boundaries. The verifier answers verdicts the test scripts;
// the rollback controller does what the real one does through the coordinator's
// ActivationService (GetLastKnownGood, compare-and-set Activate, watch to convergence).
import { EventEmitter, on } from 'node:events';
import { randomUUID } from 'node:crypto';

import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationService,
  ActivationState,
  RollbackOutcome,
  RollbackService,
  VerdictState,
  VerificationService,
  type ActivationStatus,
  type RollbackRecordSchema,
  type RollbackRequest,
  type VerdictSchema,
  type VerifyStageRequest,
} from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  UnavailableError,
  UnimplementedError,
} from '@caracal-deploy/errors';
import { GrpcServer, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

type VerdictInit = MessageInitShape<typeof VerdictSchema>;

/** How the stand-in verifier answers a stage: at once, or pending until released. */
export type ScriptedOutcome = 'pass' | 'fail' | 'hold';

const quiet = { warn: () => undefined, error: () => undefined };

/** A `VerificationService` whose verdicts the test decides. */
export class StandInVerifier {
  /** Every VerifyStage request received, in order. */
  readonly requests: VerifyStageRequest[] = [];
  /** Decides a new stage's verdict; pass by default. */
  decide: (request: VerifyStageRequest) => ScriptedOutcome = () => 'pass';
  /** While true every call fails UNAVAILABLE (a verifier that is down). */
  down = false;
  private readonly verdicts = new Map<string, VerdictInit>();
  private readonly changes = new EventEmitter();
  private server: GrpcServer | undefined;

  /** Serves on an ephemeral loopback port; returns `host:port`. */
  async listen(): Promise<string> {
    this.changes.setMaxListeners(100);
    this.server = new GrpcServer({ address: '127.0.0.1:0', logger: quiet }).add(
      VerificationService,
      {
        reportProbes: () => {
          throw new UnimplementedError('the stand-in verifier takes no probe reports');
        },
        verifyStage: async (request) => {
          this.requests.push(request);
          if (this.down) throw new UnavailableError('the verification aggregator is down');
          const key = `${request.deploymentId}/${request.stage}`;
          if (!this.verdicts.has(key)) {
            this.verdicts.set(key, pendingVerdict(request.deploymentId, request.stage));
            const outcome = this.decide(request);
            if (outcome !== 'hold') this.release(request.deploymentId, request.stage, outcome);
          }
          return Promise.resolve({ verdict: this.verdicts.get(key) });
        },
        getVerdict: async (request) =>
          Promise.resolve({
            verdict: this.verdicts.get(`${request.deploymentId}/${request.stage}`),
          }),
        watchVerdict: (request, context) =>
          this.watch(request.deploymentId, request.stage, context.signal),
      },
    );
    return `127.0.0.1:${await this.server.listen()}`;
  }

  /** Decides a held stage: pass, or fail with a canary row naming a decision mismatch. */
  release(deploymentId: string, stage: string, outcome: 'pass' | 'fail'): void {
    const key = `${deploymentId}/${stage}`;
    this.verdicts.set(key, decidedVerdict(deploymentId, stage, outcome));
    this.changes.emit(key);
  }

  /** VerifyStage requests for one stage of a deployment. */
  requestsFor(deploymentId: string, stage: string): VerifyStageRequest[] {
    return this.requests.filter((r) => r.deploymentId === deploymentId && r.stage === stage);
  }

  private async *watch(deploymentId: string, stage: string, signal: AbortSignal) {
    if (this.down) throw new UnavailableError('the verification aggregator is down');
    const key = `${deploymentId}/${stage}`;
    const updates = on(this.changes, key, { signal });
    for (;;) {
      const verdict = this.verdicts.get(key);
      if (verdict) yield { verdict };
      if (verdict?.state === VerdictState.PASS || verdict?.state === VerdictState.FAIL) return;
      try {
        await updates.next();
      } catch {
        return;
      }
    }
  }

  /** Stops serving. */
  async close(): Promise<void> {
    await this.server?.close();
  }
}

function pendingVerdict(deploymentId: string, stage: string): VerdictInit {
  return {
    deploymentId,
    stage,
    state: VerdictState.PENDING,
    rows: [
      { check: 'activation_accepted', state: VerdictState.PASS, evidence: 'activations committed' },
      { check: 'canary_audit', state: VerdictState.PENDING, evidence: 'waiting for probe rounds' },
    ],
    startedAtUnixMillis: BigInt(Date.now()),
  };
}

function decidedVerdict(
  deploymentId: string,
  stage: string,
  outcome: 'pass' | 'fail',
): VerdictInit {
  return {
    deploymentId,
    stage,
    state: outcome === 'pass' ? VerdictState.PASS : VerdictState.FAIL,
    rows: [
      { check: 'activation_accepted', state: VerdictState.PASS, evidence: 'activations committed' },
      outcome === 'pass'
        ? {
            check: 'canary_audit',
            state: VerdictState.PASS,
            evidence: 'eu: 3/3 probes matched with audit events',
            details: { eu: '3/3' },
          }
        : {
            check: 'canary_audit',
            state: VerdictState.FAIL,
            evidence: 'eu: probe read-orders expected allow, gateway and audit say deny',
            details: { eu: 'decision_mismatch' },
          },
    ],
    startedAtUnixMillis: BigInt(Date.now()),
    decidedAtUnixMillis: BigInt(Date.now()),
  };
}

/** A `RollbackService` that rolls back through the coordinator like the real controller. */
export class StandInRollbackController {
  /** Every Rollback request received, in order. */
  readonly requests: RollbackRequest[] = [];
  /** When set, every Rollback fails with this error (an unavailable or broken controller). */
  failWith: Error | undefined;
  private readonly records: MessageInitShape<typeof RollbackRecordSchema>[] = [];
  private server: GrpcServer | undefined;
  private coordinator: GrpcClient<typeof ActivationService> | undefined;

  /** Serves on an ephemeral loopback port; returns `host:port`. */
  async listen(): Promise<string> {
    this.server = new GrpcServer({ address: '127.0.0.1:0', logger: quiet }).add(RollbackService, {
      rollback: (request) => this.rollback(request),
      listRollbacks: async () => Promise.resolve({ rollbacks: this.records }),
    });
    return `127.0.0.1:${await this.server.listen()}`;
  }

  /** Points the controller at the coordinator it rolls back through. */
  useCoordinator(address: string): void {
    this.coordinator?.close();
    this.coordinator = createGrpcClient(ActivationService, address);
  }

  private async rollback(request: RollbackRequest) {
    this.requests.push(request);
    if (this.failWith) throw this.failWith;
    const coordinator = this.coordinator!;
    const known = await coordinator.getLastKnownGood({ zoneId: request.zoneId });
    const current = known.current?.policySetVersionId ?? '';
    const base = {
      rollbackId: randomUUID(),
      zoneId: request.zoneId,
      trigger: request.trigger,
      fromPolicySetVersionId: current,
      reason: request.reason,
      actor: request.actor,
      createdAtUnixMillis: BigInt(Date.now()),
    };
    if (
      request.expectedActiveVersionId !== undefined &&
      current !== request.expectedActiveVersionId
    ) {
      const record = { ...base, outcome: RollbackOutcome.SKIPPED_NOT_ACTIVE };
      this.records.push(record);
      return { rollback: record };
    }
    const target = known.lastKnownGood?.policySetVersionId;
    if (!target)
      throw new FailedPreconditionError(`zone "${request.zoneId}" has no known good version`);
    const { activation, replayed } = await coordinator.activate({
      zoneId: request.zoneId,
      policySetVersionId: target,
      expectedActiveVersionId: current,
      idempotencyKey: request.idempotencyKey || randomUUID(),
      reason: request.reason,
      actor: request.actor,
      trigger: request.trigger,
    });
    let status: ActivationStatus | undefined;
    if (request.waitForConvergence && activation)
      for await (const message of coordinator.watchActivation(
        { activationId: activation.activationId },
        { timeoutMs: 60_000 },
      )) {
        status = message.status;
        if (status?.state === ActivationState.CONVERGED) break;
      }
    const record = {
      ...base,
      outcome: replayed ? RollbackOutcome.DUPLICATE : RollbackOutcome.ROLLED_BACK,
      toPolicySetVersionId: target,
      activationId: activation?.activationId ?? '',
    };
    this.records.push(record);
    return { rollback: record, ...(status ? { status } : {}) };
  }

  /** Stops serving. */
  async close(): Promise<void> {
    this.coordinator?.close();
    await this.server?.close();
  }
}
