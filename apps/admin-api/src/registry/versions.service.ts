import { Inject, Injectable } from '@nestjs/common';
import { InternalError } from '@caracal-deploy/errors';

import { canonicalSha256, sha256Hex } from '../common/canonical-json.js';
import { toPage, type Page } from '../common/pagination.js';
import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';
import {
  type NamedRow,
  type PageRequest,
  type PolicySetVersionRow,
  type PolicyVersionRow,
  RegistryRepository,
  type VerdictRow,
  type ZoneRow,
} from '../database/registry.repository.js';
import type { PolicyVersionContent } from '../database/registry.schema.js';
import { InvalidVersionError, PolicyFindingsError } from '../http/http-errors.js';
import { catalogSha256, policySourceOf, verdictOf } from '../validation/policy-source.js';
import { ValidatorClient } from '../validation/validator.client.js';
import { mergeSetContent, policySetManifest, type SetMember } from './policy-set-merge.js';
import { bundleView, policySetVersionView, policyVersionView } from './registry.views.js';

/** A created-or-found answer: the body and whether it is new (201) or existed (200). */
export interface Upserted<T> {
  readonly created: boolean;
  readonly body: T;
}

function sortByPath<T extends { path: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Content in its canonical order: modules and data by path, tests as given. */
export function canonicalContent<C extends PolicyVersionContent>(content: C): C {
  return { ...content, modules: sortByPath(content.modules), data: sortByPath(content.data) };
}

/**
 * Versions, verdicts and bundles: everything that asks the validator first and
 * then stores the answer together with what it is about, in one transaction.
 */
@Injectable()
export class VersionsService {
  constructor(
    private readonly repository: RegistryRepository,
    private readonly validator: ValidatorClient,
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
  ) {}

  /**
   * Stores `content` as a version of the policy once the validator has judged
   * it. Identical content returns the existing version; it is judged again only
   * when its last verdict was not valid (the catalog may have changed since).
   * A version with ERROR findings is stored with its verdict and answered 422.
   */
  async createPolicyVersion(
    zone: ZoneRow,
    policy: NamedRow,
    content: PolicyVersionContent,
    sourceFormat: 'sources' | 'pack',
    actor: string,
  ): Promise<Upserted<ReturnType<typeof policyVersionView>>> {
    const canonical = canonicalContent(content);
    const sha = canonicalSha256(canonical);
    const existing = await this.repository.policyVersionBySha(policy.id, sha);
    if (existing !== undefined) {
      const verdict = (
        await this.repository.latestVerdicts('policy_version_id', [existing.id])
      ).get(existing.id);
      if (verdict?.valid === true) {
        return {
          created: false,
          body: policyVersionView(zone.name, policy.name, existing, verdict, false),
        };
      }
    }
    const catalog = await this.repository.catalog(zone);
    // The validator answers before anything is written: if it is down, nothing is stored.
    const response = await this.validator.validate(policySourceOf(zone.name, canonical, catalog));
    const verdict = verdictOf(response, catalogSha256(catalog));
    const stored = await this.repository.storePolicyVersion(
      { policyId: policy.id, sha, content: canonical, sourceFormat, zone: zone.name },
      verdict,
      actor,
    );
    const body = policyVersionView(zone.name, policy.name, stored.row, stored.verdict, false);
    if (!stored.verdict.valid) {
      throw new PolicyFindingsError(
        `policy version ${stored.row.id} of "${policy.name}" is invalid: ${errorCount(stored.verdict)} blocking finding(s)`,
        { findings: stored.verdict.findings, tests: stored.verdict.tests },
        { policy_version_id: stored.row.id, content_sha256: sha },
      );
    }
    return { created: stored.created, body };
  }

  /** A policy version with its content and latest verdict. */
  async getPolicyVersion(zone: ZoneRow, policy: NamedRow, id: string) {
    const row = await this.repository.policyVersion(policy.id, id);
    const verdict = (await this.repository.latestVerdicts('policy_version_id', [row.id])).get(
      row.id,
    );
    return policyVersionView(zone.name, policy.name, row, verdict, true);
  }

  /** The policy's versions, newest first, each with its latest verdict. */
  async listPolicyVersions(
    zone: ZoneRow,
    policy: NamedRow,
    page: PageRequest,
  ): Promise<Page<ReturnType<typeof policyVersionView>>> {
    const rows = await this.repository.listPolicyVersions(policy.id, page);
    const verdicts = await this.repository.latestVerdicts(
      'policy_version_id',
      rows.map((row) => row.id),
    );
    return toPage(rows, page.limit, (row: PolicyVersionRow) =>
      policyVersionView(zone.name, policy.name, row, verdicts.get(row.id), false),
    );
  }

  /**
   * Creates a policy-set version from policy versions: checks the members,
   * validates the merged sources against the zone's catalog, stores manifest
   * and verdict together; ERROR findings answer 422 after storing.
   */
  async createPolicySetVersion(
    zone: ZoneRow,
    set: NamedRow,
    ids: readonly string[],
    actor: string,
  ): Promise<Upserted<ReturnType<typeof policySetVersionView>>> {
    const rows = await this.repository.policyVersionsByIds([...new Set(ids)]);
    const found = new Map<string, SetMember>(
      rows.map((row) => [
        row.id,
        {
          id: row.id,
          policyName: row.policy_name,
          zoneId: row.zone_id,
          contentSha256: row.content_sha256,
          content: row.content,
        },
      ]),
    );
    const manifest = policySetManifest(zone, set.name, ids, found, this.config.maxPolicySetSize);
    const content = mergeSetContent(
      manifest,
      new Map([...found].map(([id, member]) => [id, member.content])),
    );
    const sha = canonicalSha256(manifest);
    const existing = await this.repository.policySetVersionBySha(set.id, sha);
    if (existing !== undefined) {
      const verdict = (
        await this.repository.latestVerdicts('policy_set_version_id', [existing.id])
      ).get(existing.id);
      if (verdict?.valid === true) {
        const bundle = (await this.repository.bundlesOf([existing.id])).get(existing.id);
        return {
          created: false,
          body: policySetVersionView(zone.name, set.name, existing, verdict, bundle),
        };
      }
    }
    const catalog = await this.repository.catalog(zone);
    const response = await this.validator.validate(policySourceOf(zone.name, content, catalog));
    const verdict = verdictOf(response, catalogSha256(catalog));
    const stored = await this.repository.storePolicySetVersion(
      { setId: set.id, sha, manifest, zone: zone.name },
      verdict,
      actor,
    );
    if (!stored.verdict.valid) {
      throw new PolicyFindingsError(
        `policy-set version ${stored.row.id} of "${set.name}" is invalid: ${errorCount(stored.verdict)} blocking finding(s)`,
        { findings: stored.verdict.findings, tests: stored.verdict.tests },
        { policy_set_version_id: stored.row.id, manifest_sha256: sha },
      );
    }
    return {
      created: stored.created,
      body: policySetVersionView(zone.name, set.name, stored.row, stored.verdict, undefined),
    };
  }

  /** A policy-set version with its latest verdict and bundle. */
  async getPolicySetVersion(zone: ZoneRow, set: NamedRow, id: string) {
    const row = await this.repository.policySetVersion(set.id, id);
    const verdict = (await this.repository.latestVerdicts('policy_set_version_id', [row.id])).get(
      row.id,
    );
    const bundle = (await this.repository.bundlesOf([row.id])).get(row.id);
    return policySetVersionView(zone.name, set.name, row, verdict, bundle);
  }

  /** The set's versions, newest first. */
  async listPolicySetVersions(
    zone: ZoneRow,
    set: NamedRow,
    page: PageRequest,
  ): Promise<Page<ReturnType<typeof policySetVersionView>>> {
    const rows = await this.repository.listPolicySetVersions(set.id, page);
    const ids = rows.map((row) => row.id);
    const verdicts = await this.repository.latestVerdicts('policy_set_version_id', ids);
    const bundles = await this.repository.bundlesOf(ids);
    return toPage(rows, page.limit, (row: PolicySetVersionRow) =>
      policySetVersionView(zone.name, set.name, row, verdicts.get(row.id), bundles.get(row.id)),
    );
  }

  /**
   * Builds, signs and stores the bundle of a valid policy-set version with
   * `revision` = its manifest sha. Refuses (422, with the findings) unless the
   * latest verdict is valid; a bundle built before is returned as is.
   */
  async buildBundle(
    zone: ZoneRow,
    set: NamedRow,
    id: string,
    actor: string,
  ): Promise<Upserted<ReturnType<typeof bundleView>>> {
    const row = await this.repository.policySetVersion(set.id, id);
    const built = (await this.repository.bundlesOf([row.id])).get(row.id);
    if (built !== undefined) return { created: false, body: bundleView(built) };
    const verdict = (await this.repository.latestVerdicts('policy_set_version_id', [row.id])).get(
      row.id,
    );
    if (verdict?.valid !== true) {
      throw new InvalidVersionError(
        `policy-set version ${row.id} is not valid; no bundle is built from it`,
        { findings: verdict?.findings ?? [], tests: verdict?.tests ?? [] },
        { policy_set_version_id: row.id, manifest_sha256: row.manifest_sha256 },
      );
    }
    const members = await this.repository.policyVersionsByIds(
      row.manifest.policy_versions.map((member) => member.id),
    );
    const content = mergeSetContent(
      row.manifest,
      new Map(members.map((member) => [member.id, member.content])),
    );
    const catalog = await this.repository.catalog(zone);
    const response = await this.validator.buildBundle(
      policySourceOf(zone.name, content, catalog),
      row.manifest_sha256,
    );
    const validation = response.validation;
    if (validation === undefined) {
      throw new InternalError('policy-validator answered BuildBundle without a validation');
    }
    const newVerdict = verdictOf(validation, catalogSha256(catalog));
    if (!newVerdict.valid) {
      // Valid before, invalid now (e.g. the validator's checks grew stricter): record
      // today's verdict, so the version reads as invalid, and refuse with its findings.
      await this.repository.recordSetVersionVerdict(row.id, newVerdict, actor, zone.name);
      throw new InvalidVersionError(
        `policy-set version ${row.id} no longer validates; no bundle is built from it`,
        { findings: newVerdict.findings, tests: newVerdict.tests },
        { policy_set_version_id: row.id, manifest_sha256: row.manifest_sha256 },
      );
    }
    const bytes = Buffer.from(response.bundle);
    const sha = sha256Hex(bytes);
    if (bytes.length === 0 || sha !== response.bundleSha256) {
      throw new InternalError('policy-validator returned a bundle whose sha256 does not match', {
        details: { reported: response.bundleSha256, computed: sha },
      });
    }
    const stored = await this.repository.storeBundle(
      {
        sha256: sha,
        policy_set_version_id: row.id,
        revision: row.manifest_sha256,
        bytes,
        signing_key_id: response.signingKeyId,
        signing_algorithm: response.signingAlgorithm,
      },
      zone.name,
      actor,
    );
    return { created: stored.created, body: bundleView(stored.row) };
  }
}

function errorCount(verdict: VerdictRow): number {
  return verdict.findings.filter((finding) => finding.severity === 'error').length;
}
