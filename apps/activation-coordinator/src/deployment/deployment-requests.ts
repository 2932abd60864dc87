import { createHash } from 'node:crypto';

import { toBinary } from '@bufbuild/protobuf';
import {
  DeployRequestSchema,
  type DeployRequest,
  type ListDeploymentsRequest,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import {
  defaultPageSize,
  maxPageSize,
  uuidViolations,
  zoneViolations,
} from '../activation/activation-requests.js';
import type { GatesRecord } from './deployment-model.js';

/** Longest accepted idempotency key, actor, reason or stage name. */
const maxTextLength = 1_000;
/** Most stages, and most zones of one deployment. */
const maxStages = 20;
const maxZones = 200;
/** Longest bake time of a stage, s (a day). */
const maxBakeSeconds = 86_400;
/** The verifier's timeout of a stage whose gates set none, s (the aggregator's default). */
export const defaultVerifyTimeoutSeconds = 120;
const stageNamePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** One checked stage. */
export interface StageCommand {
  readonly name: string;
  readonly zones: readonly string[];
  readonly regions: readonly string[];
  readonly bakeSeconds: number;
  readonly gates: GatesRecord;
}

/** A checked `DeployRequest`. */
export interface DeployCommand {
  readonly policySetVersionId: string;
  readonly stages: readonly StageCommand[];
  readonly idempotencyKey: string;
  readonly actor: string;
  readonly reason: string;
  readonly acceptNoRollbackZones: readonly string[];
  readonly zoneVersions: ReadonlyMap<string, string>;
  /** sha256 of the request's bytes: the same key with another request is refused. */
  readonly requestSha256: string;
}

/** Violations of a required free-text field. */
export function textViolations(field: string, value: string): FieldViolation[] {
  if (!value.trim()) return [{ field, problem: 'required, got nothing' }];
  if (value.length > maxTextLength)
    return [{ field, problem: `at most ${maxTextLength} characters, got ${value.length}` }];
  return [];
}

/** Throws one {@link InvalidArgumentError} naming every violation. */
export function requireValid(message: string, violations: FieldViolation[]): void {
  if (violations.length > 0)
    throw new InvalidArgumentError(
      `${message}: ${violations.map((v) => `${v.field}: ${v.problem}`).join('; ')}`,
      { violations },
    );
}

/** Checks a `DeployRequest`, naming every bad field at once. */
export function parseDeployRequest(request: DeployRequest): DeployCommand {
  const violations: FieldViolation[] = [
    ...uuidViolations('policy_set_version_id', request.policySetVersionId),
  ];
  const options = request.options;
  if (!options) violations.push({ field: 'options', problem: 'required, got nothing' });
  violations.push(
    ...textViolations('options.idempotency_key', options?.idempotencyKey ?? ''),
    ...textViolations('options.actor', options?.actor ?? ''),
    ...textViolations('options.reason', options?.reason ?? ''),
  );
  if (request.stages.length === 0)
    violations.push({ field: 'stages', problem: 'at least one stage, got none' });
  if (request.stages.length > maxStages)
    violations.push({
      field: 'stages',
      problem: `at most ${maxStages} stages, got ${request.stages.length}`,
    });
  const seenStages = new Set<string>();
  const zoneStage = new Map<string, string>();
  const stages: StageCommand[] = request.stages.map((stage, index) => {
    const at = `stages[${index}]`;
    if (!stageNamePattern.test(stage.name))
      violations.push({
        field: `${at}.name`,
        problem: `expected a slug like "canary", got ${JSON.stringify(stage.name)}`,
      });
    else if (seenStages.has(stage.name))
      violations.push({ field: `${at}.name`, problem: `stage "${stage.name}" appears twice` });
    seenStages.add(stage.name);
    if (stage.zones.length === 0)
      violations.push({ field: `${at}.zones`, problem: 'at least one zone, got none' });
    stage.zones.forEach((zone, z) => {
      violations.push(...zoneViolations(`${at}.zones[${z}]`, zone));
      const earlier = zoneStage.get(zone);
      if (earlier !== undefined)
        violations.push({
          field: `${at}.zones[${z}]`,
          problem: `zone "${zone}" is already in stage "${earlier}"; a zone belongs to one stage`,
        });
      zoneStage.set(zone, stage.name);
    });
    if (stage.regions.length === 0)
      violations.push({
        field: `${at}.regions`,
        problem: 'at least one region whose canary agents must report, got none',
      });
    if (new Set(stage.regions).size !== stage.regions.length)
      violations.push({ field: `${at}.regions`, problem: 'regions must be distinct' });
    stage.regions.forEach((region, r) => {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region))
        violations.push({
          field: `${at}.regions[${r}]`,
          problem: `expected a region slug like "eu", got ${JSON.stringify(region)}`,
        });
    });
    if (stage.bakeSeconds < 0 || stage.bakeSeconds > maxBakeSeconds)
      violations.push({
        field: `${at}.bake_seconds`,
        problem: `expected 0 to ${maxBakeSeconds}, got ${stage.bakeSeconds}`,
      });
    const gates = stage.gates;
    if (gates && (gates.maxTransportErrorRatio < 0 || gates.maxTransportErrorRatio > 1))
      violations.push({
        field: `${at}.gates.max_transport_error_ratio`,
        problem: `expected 0 to 1, got ${gates.maxTransportErrorRatio}`,
      });
    const timeout = gates?.timeoutSeconds || defaultVerifyTimeoutSeconds;
    if (stage.bakeSeconds >= 0 && timeout <= stage.bakeSeconds)
      violations.push({
        field: `${at}.gates.timeout_seconds`,
        problem: `must exceed bake_seconds (${stage.bakeSeconds}) or the stage could never pass, got ${timeout}${gates?.timeoutSeconds ? '' : ' (the default)'}`,
      });
    for (const [field, value] of [
      ['min_probe_rounds_per_region', gates?.minProbeRoundsPerRegion ?? 0],
      ['max_policy_age_seconds', gates?.maxPolicyAgeSeconds ?? 0],
      ['timeout_seconds', gates?.timeoutSeconds ?? 0],
    ] as const)
      if (value < 0)
        violations.push({ field: `${at}.gates.${field}`, problem: `expected >= 0, got ${value}` });
    return {
      name: stage.name,
      zones: [...stage.zones],
      regions: [...stage.regions],
      bakeSeconds: stage.bakeSeconds,
      gates: {
        minProbeRoundsPerRegion: gates?.minProbeRoundsPerRegion ?? 0,
        maxTransportErrorRatio: gates?.maxTransportErrorRatio ?? 0,
        maxPolicyAgeSeconds: gates?.maxPolicyAgeSeconds ?? 0,
        bakeSeconds: stage.bakeSeconds,
        timeoutSeconds: gates?.timeoutSeconds ?? 0,
      },
    };
  });
  if (zoneStage.size > maxZones)
    violations.push({
      field: 'stages',
      problem: `at most ${maxZones} zones, got ${zoneStage.size}`,
    });
  (options?.acceptNoRollbackZones ?? []).forEach((zone, z) => {
    violations.push(...zoneViolations(`options.accept_no_rollback_zones[${z}]`, zone));
    if (zone && !zoneStage.has(zone))
      violations.push({
        field: `options.accept_no_rollback_zones[${z}]`,
        problem: `zone "${zone}" is not a target of any stage`,
      });
  });
  const zoneVersions = new Map<string, string>();
  request.zoneVersions.forEach((entry, z) => {
    violations.push(
      ...zoneViolations(`zone_versions[${z}].zone_id`, entry.zoneId),
      ...uuidViolations(`zone_versions[${z}].policy_set_version_id`, entry.policySetVersionId),
    );
    if (entry.zoneId && !zoneStage.has(entry.zoneId))
      violations.push({
        field: `zone_versions[${z}].zone_id`,
        problem: `zone "${entry.zoneId}" is not a target of any stage`,
      });
    if (zoneVersions.has(entry.zoneId))
      violations.push({
        field: `zone_versions[${z}].zone_id`,
        problem: `zone "${entry.zoneId}" appears twice`,
      });
    zoneVersions.set(entry.zoneId, entry.policySetVersionId);
  });
  requireValid('invalid deploy request', violations);
  return {
    policySetVersionId: request.policySetVersionId,
    stages,
    idempotencyKey: options!.idempotencyKey,
    actor: options!.actor,
    reason: options!.reason,
    acceptNoRollbackZones: [...options!.acceptNoRollbackZones],
    zoneVersions,
    requestSha256: createHash('sha256')
      .update(toBinary(DeployRequestSchema, request))
      .digest('hex'),
  };
}

/** A checked `ListDeploymentsRequest`; the page token is the last entry's sequence number. */
export interface DeploymentsPage {
  readonly pageSize: number;
  readonly beforeSeq: string | undefined;
  readonly zoneId: string;
}

/** Checks a `ListDeploymentsRequest`. */
export function parseListDeploymentsRequest(request: ListDeploymentsRequest): DeploymentsPage {
  const violations: FieldViolation[] = [];
  if (request.zoneId) violations.push(...zoneViolations('zone_id', request.zoneId));
  if (request.pageSize < 0 || request.pageSize > maxPageSize)
    violations.push({
      field: 'page_size',
      problem: `expected 0 (default ${defaultPageSize}) to ${maxPageSize}, got ${request.pageSize}`,
    });
  if (request.pageToken && !/^[1-9][0-9]{0,18}$/.test(request.pageToken))
    violations.push({
      field: 'page_token',
      problem: 'expected the next_page_token of a previous call',
    });
  requireValid('invalid list request', violations);
  return {
    pageSize: request.pageSize || defaultPageSize,
    beforeSeq: request.pageToken || undefined,
    zoneId: request.zoneId,
  };
}
