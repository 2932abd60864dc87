import type { VerifyStageRequest } from '@caracal-deploy/contracts';
import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import { normalizeRevision } from '../audit/audit-event.js';
import type { NewStage, StageRecord } from '../database/verification.repository.js';
import { defaultGates, type Gates } from './verdict-rows.js';

const sha256Hex = /^[0-9a-f]{64}$/;

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The request's gates with the proto's defaults for unset (zero) values. */
export function gatesOf(request: VerifyStageRequest): Gates {
  const gates = request.gates;
  return {
    minProbeRoundsPerRegion: gates?.minProbeRoundsPerRegion || defaultGates.minProbeRoundsPerRegion,
    maxTransportErrorRatio: gates?.maxTransportErrorRatio || defaultGates.maxTransportErrorRatio,
    maxPolicyAgeSeconds: gates?.maxPolicyAgeSeconds || defaultGates.maxPolicyAgeSeconds,
    bakeSeconds: gates?.bakeSeconds ?? defaultGates.bakeSeconds,
    timeoutSeconds: gates?.timeoutSeconds || defaultGates.timeoutSeconds,
  };
}

/**
 * Validates a VerifyStage request and turns it into the stage to record,
 * started at `now`. Throws INVALID_ARGUMENT naming every bad field.
 */
export function stageRequestOf(request: VerifyStageRequest, now: Date): NewStage {
  const violations: FieldViolation[] = [];
  const required = (field: string, value: string) => {
    if (value.trim() === '') violations.push({ field, problem: 'required' });
  };
  required('deployment_id', request.deploymentId);
  required('stage', request.stage);
  if (request.zones.length === 0) {
    violations.push({ field: 'zones', problem: 'at least one zone is required' });
  }
  const zoneIds = new Set<string>();
  request.zones.forEach((zone, index) => {
    required(`zones[${index}].zone_id`, zone.zoneId);
    required(`zones[${index}].activation_id`, zone.activationId);
    if (zone.zoneId !== '' && zoneIds.has(zone.zoneId)) {
      violations.push({
        field: `zones[${index}].zone_id`,
        problem: `zone ${zone.zoneId} is listed twice`,
      });
    }
    zoneIds.add(zone.zoneId);
  });
  const revision = normalizeRevision(request.revision);
  if (!sha256Hex.test(revision)) {
    violations.push({
      field: 'revision',
      problem: `expected the manifest sha256 (64 hex digits, optionally "sha256:"-prefixed), got ${JSON.stringify(request.revision)}`,
    });
  }
  if (request.regions.length === 0) {
    violations.push({
      field: 'regions',
      problem: 'at least one region whose canary agents report is required',
    });
  }
  request.regions.forEach((region, index) => required(`regions[${index}]`, region));
  if (new Set(request.regions).size !== request.regions.length) {
    violations.push({ field: 'regions', problem: 'regions must be distinct' });
  }
  const gates = gatesOf(request);
  const nonNegative = (field: string, value: number) => {
    if (!Number.isFinite(value) || value < 0) {
      violations.push({ field: `gates.${field}`, problem: `must not be negative, got ${value}` });
    }
  };
  nonNegative('min_probe_rounds_per_region', gates.minProbeRoundsPerRegion);
  nonNegative('max_policy_age_seconds', gates.maxPolicyAgeSeconds);
  nonNegative('bake_seconds', gates.bakeSeconds);
  nonNegative('timeout_seconds', gates.timeoutSeconds);
  if (!(gates.maxTransportErrorRatio >= 0 && gates.maxTransportErrorRatio <= 1)) {
    violations.push({
      field: 'gates.max_transport_error_ratio',
      problem: `expected 0..1, got ${gates.maxTransportErrorRatio}`,
    });
  }
  if (gates.bakeSeconds >= gates.timeoutSeconds) {
    violations.push({
      field: 'gates.timeout_seconds',
      problem: `must exceed bake_seconds (${gates.bakeSeconds}), got ${gates.timeoutSeconds}: the stage could never pass`,
    });
  }
  if (violations.length > 0) {
    throw new InvalidArgumentError('invalid stage verification request', { violations });
  }
  return {
    deploymentId: request.deploymentId,
    stage: request.stage,
    zones: request.zones.map((zone) => ({ zoneId: zone.zoneId, activationId: zone.activationId })),
    regions: [...request.regions],
    policySetVersionId: request.policySetVersionId,
    revision,
    gates,
    startedAt: now,
  };
}

/**
 * A repeated VerifyStage for a recorded stage must ask for the same
 * verification; a different one is refused naming the first differing field.
 */
export function sameStage(recorded: StageRecord, asked: NewStage): void {
  const differing: FieldViolation[] = [];
  const compare = (field: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      differing.push({
        field,
        problem: `differs from the verification already recorded for this stage (${JSON.stringify(a)})`,
      });
    }
  };
  compare('zones', recorded.zones, asked.zones);
  compare('policy_set_version_id', recorded.policySetVersionId, asked.policySetVersionId);
  compare('revision', recorded.revision, asked.revision);
  compare('regions', recorded.regions, asked.regions);
  // Field by field: jsonb does not keep key order.
  for (const key of Object.keys(defaultGates) as (keyof Gates)[]) {
    compare(`gates.${snake(key)}`, recorded.gates[key], asked.gates[key]);
  }
  if (differing.length > 0) {
    throw new InvalidArgumentError(
      `stage ${asked.stage} of deployment ${asked.deploymentId} is already verified with other parameters`,
      { violations: differing },
    );
  }
}
