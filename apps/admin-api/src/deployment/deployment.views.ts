import {
  type Deployment,
  type DeploymentEvent,
  DeploymentState,
  StageState,
  type Verdict,
  VerdictState,
  ZoneState,
} from '@caracal-deploy/contracts';
import type { z } from 'zod';

import type * as api from '../http/api.schemas.js';

// DeploymentService messages → the snake_case JSON the API returns (see the
// deployment schemas in api.schemas.ts): enums as lowercase words, times as
// ISO 8601, "none" as null rather than "" or 0.

type DeploymentJson = z.output<typeof api.deploymentView>;
type StageJson = DeploymentJson['stages'][number];
type ZoneJson = StageJson['zones'][number];
type VerdictJson = NonNullable<StageJson['verdict']>;

/** An enum member's name as the API spells it: `ROLLED_BACK` → `rolled_back`. */
function enumWord<W extends string>(values: Record<number, string>, value: number): W {
  return (values[value] ?? 'UNSPECIFIED').toLowerCase() as W;
}

const isoOf = (millis: bigint): string => new Date(Number(millis)).toISOString();
const isoOrNull = (millis: bigint): string | null => (millis > 0n ? isoOf(millis) : null);
const textOrNull = (text: string): string | null => (text === '' ? null : text);

/** States a deployment never leaves: a watch of it ends. */
export const finalDeploymentStates: ReadonlySet<DeploymentState> = new Set([
  DeploymentState.SUCCEEDED,
  DeploymentState.FAILED,
  DeploymentState.ROLLED_BACK,
  DeploymentState.ABORTED,
]);

function verdictView(verdict: Verdict): VerdictJson {
  return {
    state: enumWord(VerdictState, verdict.state),
    rows: verdict.rows.map((row) => ({
      check: row.check,
      state: enumWord(VerdictState, row.state),
      evidence: row.evidence,
      details: { ...row.details },
    })),
    started_at: isoOrNull(verdict.startedAtUnixMillis),
    decided_at: isoOrNull(verdict.decidedAtUnixMillis),
  };
}

/** A deployment as returned. */
export function deploymentView(deployment: Deployment): DeploymentJson {
  return {
    id: deployment.deploymentId,
    policy_set_version_id: deployment.policySetVersionId,
    state: enumWord(DeploymentState, deployment.state),
    terminal: finalDeploymentStates.has(deployment.state),
    preflight: deployment.preflight.map((check) => ({
      check: check.check,
      zone: textOrNull(check.zoneId),
      passed: check.passed,
      evidence: check.evidence,
      details: { ...check.details },
    })),
    stages: deployment.stages.map((stage): StageJson => ({
      name: stage.name,
      regions: [...stage.regions],
      bake_seconds: stage.bakeSeconds,
      gates: {
        min_probe_rounds_per_region: stage.gates?.minProbeRoundsPerRegion ?? 0,
        max_transport_error_ratio: stage.gates?.maxTransportErrorRatio ?? 0,
        max_policy_age_seconds: stage.gates?.maxPolicyAgeSeconds ?? 0,
        timeout_seconds: stage.gates?.timeoutSeconds ?? 0,
      },
      state: enumWord(StageState, stage.state),
      zones: stage.zones.map((zone): ZoneJson => ({
        zone: zone.zoneId,
        policy_set_version_id: zone.policySetVersionId,
        manifest_sha256: zone.manifestSha256,
        state: enumWord(ZoneState, zone.state),
        previous_policy_set_version_id: textOrNull(zone.previousPolicySetVersionId),
        activation_id: textOrNull(zone.activationId),
        live_replicas: zone.liveReplicas,
        serving_replicas: zone.servingReplicas,
        rollback_id: textOrNull(zone.rollbackId),
        rolled_back_to_policy_set_version_id: textOrNull(zone.rolledBackToPolicySetVersionId),
        detail: zone.detail,
      })),
      verdict: stage.verdict === undefined ? null : verdictView(stage.verdict),
      started_at: isoOrNull(stage.startedAtUnixMillis),
      finished_at: isoOrNull(stage.finishedAtUnixMillis),
    })),
    zone_versions: deployment.zoneVersions.map((entry) => ({
      zone: entry.zoneId,
      policy_set_version_id: entry.policySetVersionId,
    })),
    accept_no_rollback_zones: [...deployment.acceptNoRollbackZones],
    current_stage: deployment.currentStage < 0 ? null : deployment.currentStage,
    failure_reason: deployment.failureReason,
    paused_by: deployment.pausedBy,
    actor: deployment.actor,
    reason: deployment.reason,
    idempotency_key: deployment.idempotencyKey,
    created_at: isoOf(deployment.createdAtUnixMillis),
    updated_at: isoOf(deployment.updatedAtUnixMillis),
    finished_at: isoOrNull(deployment.finishedAtUnixMillis),
  };
}

/** A deployment event as returned. */
export function deploymentEventView(
  event: DeploymentEvent,
): z.output<typeof api.deploymentEventView> {
  return {
    seq: Number(event.seq),
    kind: event.kind,
    stage: textOrNull(event.stage),
    zone: textOrNull(event.zoneId),
    message: event.message,
    details: { ...event.details },
    at: isoOf(event.atUnixMillis),
  };
}
