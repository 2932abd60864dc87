import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  DeploymentState,
  StageState,
  VerdictState,
  ZoneState,
  type DeploymentEventSchema,
  type DeploymentSchema,
  type Verdict,
} from '@caracal-deploy/contracts';

import type { StoredDeploymentState } from '../database/coordinator.schema.js';
import type {
  DeploymentDocument,
  StoredStageState,
  StoredVerdictState,
  StoredZoneState,
  VerdictRecord,
} from './deployment-model.js';
import type { StoredEvent } from './deployment.repository.js';

const deploymentStates: Record<StoredDeploymentState, DeploymentState> = {
  preflight: DeploymentState.PREFLIGHT,
  running: DeploymentState.RUNNING,
  paused: DeploymentState.PAUSED,
  rolling_back: DeploymentState.ROLLING_BACK,
  succeeded: DeploymentState.SUCCEEDED,
  failed: DeploymentState.FAILED,
  rolled_back: DeploymentState.ROLLED_BACK,
  aborted: DeploymentState.ABORTED,
};

const stageStates: Record<StoredStageState, StageState> = {
  pending: StageState.PENDING,
  activating: StageState.ACTIVATING,
  converging: StageState.CONVERGING,
  verifying: StageState.VERIFYING,
  passed: StageState.PASSED,
  failed: StageState.FAILED,
  skipped: StageState.SKIPPED,
};

const zoneStates: Record<StoredZoneState, ZoneState> = {
  pending: ZoneState.PENDING,
  activated: ZoneState.ACTIVATED,
  converged: ZoneState.CONVERGED,
  passed: ZoneState.PASSED,
  rolled_back: ZoneState.ROLLED_BACK,
  rollback_skipped: ZoneState.ROLLBACK_SKIPPED,
  rollback_failed: ZoneState.ROLLBACK_FAILED,
};

const verdictStates: Record<StoredVerdictState, VerdictState> = {
  pending: VerdictState.PENDING,
  pass: VerdictState.PASS,
  fail: VerdictState.FAIL,
};

/** The stored name of a wire verdict state; unspecified counts as pending. */
export function storedVerdictState(state: VerdictState): StoredVerdictState {
  return state === VerdictState.PASS ? 'pass' : state === VerdictState.FAIL ? 'fail' : 'pending';
}

/** A verifier's `Verdict` as stored. */
export function verdictRecord(verdict: Verdict): VerdictRecord {
  return {
    state: storedVerdictState(verdict.state),
    rows: verdict.rows.map((row) => ({
      check: row.check,
      state: storedVerdictState(row.state),
      evidence: row.evidence,
      details: { ...row.details },
    })),
    startedAt: Number(verdict.startedAtUnixMillis),
    decidedAt: Number(verdict.decidedAtUnixMillis),
  };
}

/** A deployment document as the `Deployment` message. */
export function deploymentMessage(
  document: DeploymentDocument,
): MessageInitShape<typeof DeploymentSchema> {
  return {
    deploymentId: document.id,
    policySetVersionId: document.policySetVersionId,
    state: deploymentStates[document.state],
    preflight: document.preflight.map((check) => ({ ...check, details: { ...check.details } })),
    stages: document.stages.map((stage) => ({
      name: stage.name,
      regions: [...stage.regions],
      bakeSeconds: stage.bakeSeconds,
      gates: { ...stage.gates },
      state: stageStates[stage.state],
      zones: stage.zones.map((zone) => ({
        zoneId: zone.zoneId,
        policySetVersionId: zone.policySetVersionId,
        manifestSha256: zone.manifestSha256,
        state: zoneStates[zone.state],
        previousPolicySetVersionId: zone.previousVersionId,
        activationId: zone.activationId,
        liveReplicas: zone.liveReplicas,
        servingReplicas: zone.servingReplicas,
        rollbackId: zone.rollbackId,
        rolledBackToPolicySetVersionId: zone.rolledBackTo,
        detail: zone.detail,
      })),
      ...(stage.verdict
        ? {
            verdict: {
              deploymentId: document.id,
              stage: stage.name,
              state: verdictStates[stage.verdict.state],
              rows: stage.verdict.rows.map((row) => ({
                check: row.check,
                state: verdictStates[row.state],
                evidence: row.evidence,
                details: { ...row.details },
              })),
              startedAtUnixMillis: BigInt(stage.verdict.startedAt),
              decidedAtUnixMillis: BigInt(stage.verdict.decidedAt),
            },
          }
        : {}),
      startedAtUnixMillis: BigInt(stage.startedAt),
      finishedAtUnixMillis: BigInt(stage.finishedAt),
    })),
    actor: document.actor,
    reason: document.reason,
    idempotencyKey: document.idempotencyKey,
    acceptNoRollbackZones: [...document.acceptNoRollbackZones],
    currentStage: document.currentStage,
    failureReason: document.failureReason,
    pausedBy: document.pausedBy,
    createdAtUnixMillis: BigInt(document.createdAt),
    updatedAtUnixMillis: BigInt(document.updatedAt),
    finishedAtUnixMillis: BigInt(document.finishedAt),
    zoneVersions: document.zoneVersions.map((entry) => ({ ...entry })),
  };
}

/** A recorded event as the `DeploymentEvent` message. */
export function eventMessage(event: StoredEvent): MessageInitShape<typeof DeploymentEventSchema> {
  return {
    seq: BigInt(event.seq),
    deploymentId: event.deploymentId,
    kind: event.kind,
    stage: event.stage,
    zoneId: event.zoneId,
    message: event.message,
    details: { ...event.details },
    atUnixMillis: BigInt(event.at.getTime()),
  };
}
