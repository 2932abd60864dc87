import { Injectable, Logger } from '@nestjs/common';

import {
  type ExpectedCaseRunRow,
  type NamedRow,
  type PolicySetVersionRow,
  RegistryRepository,
  type ZoneRow,
} from '../database/registry.repository.js';
import type { StoredCase } from '../database/registry.schema.js';
import { PayloadTooLargeError } from '../http/http-errors.js';
import {
  type BundleRef,
  type CaseRun,
  PolicySimulationService,
} from './policy-simulation.service.js';

/** A run of expected cases as returned with its policy-set version. */
export function expectedCasesRunView(row: ExpectedCaseRunRow) {
  const flipped = row.results.filter((result) => result.flipped).length;
  return {
    expected_cases_revision: row.revision,
    bundle_sha256: row.bundle_sha256,
    summary: { passed: row.passed, failed: row.failed, flipped, invalid: row.invalid },
    results: row.results,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Expected cases stored with a policy set and re-run on each of its new
 * versions' signed bundles, so a regression shows on the version before it is
 * ever activated.
 */
@Injectable()
export class ExpectedCasesService {
  private readonly logger = new Logger('ExpectedCases');

  constructor(
    private readonly repository: RegistryRepository,
    private readonly simulation: PolicySimulationService,
  ) {}

  /** Replaces the set's expected cases with a new revision. */
  async put(zone: ZoneRow, set: NamedRow, cases: readonly StoredCase[], actor: string) {
    const row = await this.repository.putExpectedCases(set, zone.name, cases, actor);
    return {
      zone: zone.name,
      policy_set: set.name,
      revision: row.revision,
      cases: row.cases,
      updated_by: row.created_by,
      updated_at: row.created_at.toISOString(),
    };
  }

  /** The set's current expected cases; revision 0 and no cases when none were stored. */
  async get(zone: ZoneRow, set: NamedRow) {
    const row = await this.repository.latestExpectedCases(set.id);
    return {
      zone: zone.name,
      policy_set: set.name,
      revision: row?.revision ?? 0,
      cases: row?.cases ?? [],
      updated_by: row?.created_by ?? null,
      updated_at: row?.created_at.toISOString() ?? null,
    };
  }

  /** The latest run on the version, as returned with it; null when none ran. */
  async runView(versionId: string) {
    const row = await this.repository.latestExpectedCaseRun(versionId);
    return row === undefined ? null : expectedCasesRunView(row);
  }

  /**
   * Runs the set's current expected cases on a new (valid) version's signed
   * bundle, building the bundle if needed, and stores the outcome. Does nothing
   * when the set has no expected cases or this revision already ran here.
   */
  async runOnVersion(
    zone: ZoneRow,
    set: NamedRow,
    version: PolicySetVersionRow,
    actor: string,
  ): Promise<ReturnType<typeof expectedCasesRunView> | null> {
    const list = await this.repository.latestExpectedCases(set.id);
    if (list === undefined || list.cases.length === 0) return this.runView(version.id);
    const previous = await this.repository.latestExpectedCaseRun(version.id);
    if (previous?.expected_case_list_id === list.id) return expectedCasesRunView(previous);
    const candidate = await this.simulation.candidateBundle(zone, set, version, actor);
    const run = await this.runAll(zone, candidate, list.cases);
    const stored = await this.repository.storeExpectedCaseRun(
      {
        policySetVersionId: version.id,
        list,
        bundleSha256: candidate.sha256,
        results: run.results,
        counts: {
          passed: run.summary.passed,
          failed: run.summary.failed,
          invalid: run.summary.invalid,
        },
      },
      zone.name,
      actor,
    );
    if (stored.failed > 0) {
      this.logger.warn(
        `policy-set version ${version.id} of "${set.name}" fails ${stored.failed} of ${list.cases.length} expected cases`,
      );
    }
    return expectedCasesRunView(stored);
  }

  /**
   * Runs every case: a list longer than the validator takes in one call (its
   * 413 names the limit) runs in batches of that size, in order.
   */
  private async runAll(
    zone: ZoneRow,
    candidate: BundleRef,
    cases: readonly StoredCase[],
  ): Promise<CaseRun> {
    try {
      return await this.simulation.runCases(zone, candidate, undefined, cases);
    } catch (error) {
      const limit = Number(error instanceof PayloadTooLargeError ? error.details['limit'] : NaN);
      if (!Number.isInteger(limit) || limit <= 0 || limit >= cases.length) throw error;
      const merged: CaseRun = {
        results: [],
        summary: { passed: 0, failed: 0, flipped: 0, invalid: 0 },
      };
      for (let start = 0; start < cases.length; start += limit) {
        const part = await this.simulation.runCases(
          zone,
          candidate,
          undefined,
          cases.slice(start, start + limit),
        );
        merged.results.push(...part.results);
        for (const key of ['passed', 'failed', 'flipped', 'invalid'] as const) {
          merged.summary[key] += part.summary[key];
        }
      }
      return merged;
    }
  }
}
