import { Inject, Injectable } from '@nestjs/common';
import { NotFoundError } from '@caracal-deploy/errors';
import { readReplicaStatuses } from '@caracal-deploy/redis';
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';

import { ActivationRepository, COORDINATOR_DB } from '../activation/activation.repository.js';
import {
  VERIFICATION_VERDICTS,
  lastKnownGood,
  type VerificationVerdicts,
} from '../activation/last-known-good.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';
import type { CoordinatorDatabase, RegistryManifestView } from '../database/coordinator.schema.js';
import { COORDINATOR_REDIS } from '../redis.tokens.js';
import type { PreflightRecord } from './deployment-model.js';
import type { DeployCommand } from './deployment-requests.js';

/** What pre-flight settled for one target zone. */
export interface ZoneTarget {
  readonly zoneId: string;
  /** The version to activate there; empty when none could be settled. */
  readonly policySetVersionId: string;
  readonly manifestSha256: string;
  /** The zone's active version now (the compare-and-set expectation); empty when none. */
  readonly previousVersionId: string;
}

/** The pre-flight checks' records and what they settled. */
export interface PreflightResult {
  readonly checks: readonly PreflightRecord[];
  readonly targets: ReadonlyMap<string, ZoneTarget>;
  readonly passed: boolean;
}

interface VersionFacts {
  readonly id: string;
  readonly policySetId: string;
  readonly zoneName: string;
  readonly manifestSha256: string;
  readonly manifest: RegistryManifestView;
}

const policiesOf = (manifest: RegistryManifestView): string =>
  JSON.stringify(
    [...(manifest.policy_versions ?? [])].map((p) => `${p.policy}@${p.content_sha256}`).sort(),
  );

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * The seed's Pre-Deployment list, checked before a deployment touches any
 * zone, each check recorded with its evidence: the version (and each other
 * zone's version of the same policies) is validated with a bundle, the
 * policy set's expected cases passed on that bundle, every target zone has
 * live STS replicas serving its active revision with a healthy policy age,
 * and each zone has a version to roll back to (unless the operator accepts
 * none for it). Registry tables are admin-api's and only read.
 */
@Injectable()
export class Preflight {
  constructor(
    @Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>,
    @Inject(COORDINATOR_REDIS) private readonly redis: Redis,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(VERIFICATION_VERDICTS) private readonly verdicts: VerificationVerdicts,
    private readonly activations: ActivationRepository,
  ) {}

  /** Runs every check; {@link NotFoundError} when the deployed version does not exist. */
  async run(command: DeployCommand): Promise<PreflightResult> {
    const deployed = await this.version(command.policySetVersionId);
    if (!deployed)
      throw new NotFoundError(`policy-set version ${command.policySetVersionId} does not exist`);
    const checks: PreflightRecord[] = [];
    const targets = new Map<string, ZoneTarget>();
    for (const stage of command.stages) {
      for (const zoneId of stage.zones) {
        const zoneVersion = await this.zoneVersion(zoneId, deployed, command, checks);
        const binding = await this.activations.binding(zoneId);
        const previousVersionId = binding?.policy_set_version_id ?? '';
        targets.set(zoneId, {
          zoneId,
          policySetVersionId: zoneVersion?.id ?? '',
          manifestSha256: zoneVersion?.manifestSha256 ?? '',
          previousVersionId,
        });
        if (zoneVersion) {
          checks.push(await this.validated(zoneId, zoneVersion));
          checks.push(await this.expectedCases(zoneId, zoneVersion));
        }
        checks.push(await this.noOtherDeployment(zoneId));
        checks.push(
          await this.replicas(
            zoneId,
            binding?.manifest_sha256,
            stage.gates.maxPolicyAgeSeconds || this.config.deployments.preflightMaxPolicyAgeSeconds,
          ),
        );
        if (zoneVersion) checks.push(await this.rollbackVersion(zoneId, zoneVersion.id, command));
      }
    }
    return { checks, targets, passed: checks.every((check) => check.passed) };
  }

  private async version(id: string): Promise<VersionFacts | undefined> {
    const row = await this.db
      .selectFrom('policy_set_versions as v')
      .innerJoin('policy_sets as s', 's.id', 'v.policy_set_id')
      .innerJoin('zones as z', 'z.id', 's.zone_id')
      .select(['v.id', 'v.policy_set_id', 'v.manifest_sha256', 'v.manifest', 'z.name as zone_name'])
      .where('v.id', '=', id)
      .executeTakeFirst();
    return row
      ? {
          id: row.id,
          policySetId: row.policy_set_id,
          zoneName: row.zone_name,
          manifestSha256: row.manifest_sha256,
          manifest: row.manifest,
        }
      : undefined;
  }

  /** Settles the version deployed to `zoneId`, recording a `zone_version` check. */
  private async zoneVersion(
    zoneId: string,
    deployed: VersionFacts,
    command: DeployCommand,
    checks: PreflightRecord[],
  ): Promise<VersionFacts | undefined> {
    const record = (passed: boolean, evidence: string, details: Record<string, string> = {}) =>
      checks.push({ check: 'zone_version', zoneId, passed, evidence, details });
    const zone = await this.db
      .selectFrom('zones')
      .select('id')
      .where('name', '=', zoneId)
      .executeTakeFirst();
    if (!zone) {
      record(false, `zone "${zoneId}" does not exist in the registry`);
      return undefined;
    }
    if (zoneId === deployed.zoneName) {
      record(true, `deploys ${deployed.id}, a version of this zone's policy set`, {
        policy_set_version_id: deployed.id,
      });
      return deployed;
    }
    const mapped = command.zoneVersions.get(zoneId);
    if (!mapped) {
      record(
        false,
        `version ${deployed.id} belongs to zone "${deployed.zoneName}"; name this zone's version of the same policies in zone_versions`,
      );
      return undefined;
    }
    const version = await this.version(mapped);
    if (!version || version.zoneName !== zoneId) {
      record(
        false,
        version
          ? `zone_versions names ${mapped}, a version of zone "${version.zoneName}"`
          : `zone_versions names ${mapped}, which does not exist`,
      );
      return undefined;
    }
    const same = policiesOf(version.manifest) === policiesOf(deployed.manifest);
    record(
      same,
      same
        ? `deploys ${mapped}: the same policies as ${deployed.id}`
        : `${mapped} pins other policies than ${deployed.id}: ${policiesOf(version.manifest)} vs ${policiesOf(deployed.manifest)}`,
      { policy_set_version_id: mapped },
    );
    return same ? version : undefined;
  }

  /** One deployment at a time per zone: two would compare-and-set against each other. */
  private async noOtherDeployment(zoneId: string): Promise<PreflightRecord> {
    const open = await this.db
      .selectFrom('deployments')
      .select(['id', 'state'])
      .where('state', 'in', ['running', 'paused', 'rolling_back'])
      .where(sql<boolean>`${zoneId} = any(zones)`)
      .orderBy('seq')
      .execute();
    return open.length > 0
      ? {
          check: 'no_other_deployment',
          zoneId,
          passed: false,
          evidence: `deployment ${open[0]!.id} (${open[0]!.state}) is rolling out to the zone; wait for it or abort it`,
          details: { deployment_id: open[0]!.id },
        }
      : {
          check: 'no_other_deployment',
          zoneId,
          passed: true,
          evidence: 'no other deployment is rolling out to the zone',
          details: {},
        };
  }

  private async validated(zoneId: string, version: VersionFacts): Promise<PreflightRecord> {
    const verdict = await this.db
      .selectFrom('verdicts')
      .select(['seq', 'valid'])
      .where('policy_set_version_id', '=', version.id)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const bundle = await this.db
      .selectFrom('bundles')
      .select(['sha256'])
      .where('policy_set_version_id', '=', version.id)
      .executeTakeFirst();
    const details = { policy_set_version_id: version.id, bundle_sha256: bundle?.sha256 ?? '' };
    const check = 'version_validated';
    if (!verdict)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `${version.id} has not been validated`,
        details,
      };
    if (!verdict.valid)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `${version.id} failed its latest validation (verdict ${verdict.seq})`,
        details,
      };
    if (!bundle)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `${version.id} has no built bundle`,
        details,
      };
    return {
      check,
      zoneId,
      passed: true,
      evidence: `${version.id} is valid (verdict ${verdict.seq}) with bundle ${bundle.sha256}`,
      details,
    };
  }

  private async expectedCases(zoneId: string, version: VersionFacts): Promise<PreflightRecord> {
    const check = 'expected_cases_passed';
    const list = await this.db
      .selectFrom('expected_case_lists')
      .select(['id', 'revision'])
      .where('policy_set_id', '=', version.policySetId)
      .orderBy('revision', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!list)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `the policy set of ${version.id} has no expected cases; declare them and run them on this version`,
        details: {},
      };
    const run = await this.db
      .selectFrom('expected_case_runs')
      .select(['id', 'bundle_sha256', 'passed', 'failed', 'invalid'])
      .where('policy_set_version_id', '=', version.id)
      .where('expected_case_list_id', '=', list.id)
      .executeTakeFirst();
    if (!run)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `expected cases revision ${list.revision} have not run on ${version.id}`,
        details: { expected_case_list_revision: String(list.revision) },
      };
    const bundle = await this.db
      .selectFrom('bundles')
      .select('sha256')
      .where('policy_set_version_id', '=', version.id)
      .executeTakeFirst();
    const details = {
      expected_case_list_revision: String(list.revision),
      run_id: run.id,
      passed: String(run.passed),
      failed: String(run.failed),
      invalid: String(run.invalid),
      bundle_sha256: run.bundle_sha256,
    };
    if (bundle && run.bundle_sha256 !== bundle.sha256)
      return {
        check,
        zoneId,
        passed: false,
        evidence: `expected cases ran on bundle ${run.bundle_sha256}, not the version's bundle ${bundle.sha256}`,
        details,
      };
    const passed = run.failed === 0 && run.invalid === 0 && run.passed > 0;
    return {
      check,
      zoneId,
      passed,
      evidence: `expected cases revision ${list.revision}: ${run.passed} passed, ${run.failed} failed, ${run.invalid} invalid`,
      details,
    };
  }

  private async replicas(
    zoneId: string,
    activeRevision: string | undefined,
    maxPolicyAgeSeconds: number,
  ): Promise<PreflightRecord> {
    const check = 'replicas_ready';
    let statuses;
    try {
      statuses = await readReplicaStatuses(this.redis, zoneId);
    } catch (error) {
      return {
        check,
        zoneId,
        passed: false,
        evidence: `replica status could not be read from Redis: ${message(error)}`,
        details: {},
      };
    }
    const now = Date.now();
    const live = statuses.filter(
      (s) => now - s.reportedAt.getTime() <= this.config.convergence.replicaLiveMs,
    );
    const regions = new Map<string, number>();
    for (const s of live) regions.set(s.region, (regions.get(s.region) ?? 0) + 1);
    const details: Record<string, string> = {
      live: String(live.length),
      ...Object.fromEntries([...regions].map(([region, n]) => [`region.${region}`, String(n)])),
    };
    if (live.length === 0)
      return {
        check,
        zoneId,
        passed: false,
        evidence: 'no live STS replica reports for the zone',
        details,
      };
    if (activeRevision === undefined)
      return {
        check,
        zoneId,
        passed: true,
        evidence: `${live.length} live replicas; the zone has no active version yet`,
        details,
      };
    const problems: string[] = [];
    let oldest = 0;
    for (const s of live) {
      if (s.revision !== activeRevision) {
        problems.push(`${s.replicaId} serves ${s.revision ?? 'nothing'}, not ${activeRevision}`);
        continue;
      }
      const age = s.confirmedAt ? (now - s.confirmedAt.getTime()) / 1000 : Infinity;
      oldest = Math.max(oldest, age);
      if (age > maxPolicyAgeSeconds)
        problems.push(
          `${s.replicaId} policy age ${Number.isFinite(age) ? `${age.toFixed(1)} s` : 'unknown'} over ${maxPolicyAgeSeconds} s`,
        );
    }
    details['max_policy_age_seconds'] = Number.isFinite(oldest) ? oldest.toFixed(1) : 'unknown';
    return problems.length > 0
      ? { check, zoneId, passed: false, evidence: problems.join('; '), details }
      : {
          check,
          zoneId,
          passed: true,
          evidence: `${live.length} live replicas serve ${activeRevision}, policy age at most ${oldest.toFixed(1)} s`,
          details,
        };
  }

  private async rollbackVersion(
    zoneId: string,
    deployedVersionId: string,
    command: DeployCommand,
  ): Promise<PreflightRecord> {
    const check = 'rollback_version';
    // What GetLastKnownGood will answer once the deployed version is active.
    const target = await lastKnownGood(this.activations, this.verdicts, zoneId, deployedVersionId);
    if (target)
      return {
        check,
        zoneId,
        passed: true,
        evidence: `a rollback goes back to ${target.policy_set_version_id}`,
        details: { policy_set_version_id: target.policy_set_version_id },
      };
    const accepted = command.acceptNoRollbackZones.includes(zoneId);
    return {
      check,
      zoneId,
      passed: accepted,
      evidence: accepted
        ? 'no version to roll back to; accepted by options.accept_no_rollback_zones'
        : 'no version to roll back to; list the zone in options.accept_no_rollback_zones to deploy without one',
      details: {},
    };
  }
}
