import { Inject, Injectable } from '@nestjs/common';
import { AlreadyExistsError, NotFoundError } from '@caracal-deploy/errors';
import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';

import { decodeCursor } from '../common/pagination.js';
import type {
  ApiTokensTable,
  BundlesTable,
  ExpectedCaseListsTable,
  ExpectedCaseRunsTable,
  HistoryTable,
  PoliciesTable,
  PolicySetManifest,
  PolicySetVersionsTable,
  PolicySetsTable,
  PolicyVersionContent,
  PolicyVersionsTable,
  RegistryDatabase,
  ResourcesTable,
  StoredCase,
  StoredCaseResult,
  StoredFinding,
  StoredTestResult,
  VerdictsTable,
  ZonesTable,
} from './registry.schema.js';

/** Injection token of the registry's Kysely instance. */
export const REGISTRY_DB = Symbol('REGISTRY_DB');

/** A zone row. */
export type ZoneRow = Selectable<ZonesTable>;
/** A resource row. */
export type ResourceRow = Selectable<ResourcesTable>;
/** A policy or policy-set row. */
export type NamedRow = Selectable<PoliciesTable> | Selectable<PolicySetsTable>;
/** A policy-version row. */
export type PolicyVersionRow = Selectable<PolicyVersionsTable>;
/** A policy-set-version row. */
export type PolicySetVersionRow = Selectable<PolicySetVersionsTable>;
/** A verdict row. */
export type VerdictRow = Selectable<VerdictsTable>;
/** A bundle row without its bytes. */
export type BundleMetaRow = Omit<Selectable<BundlesTable>, 'bytes'>;
/** One revision of a policy set's expected cases. */
export type ExpectedCaseListRow = Selectable<ExpectedCaseListsTable>;
/** A run of expected cases on a version, with the revision of the list it ran. */
export type ExpectedCaseRunRow = Selectable<ExpectedCaseRunsTable> & { revision: number };
/** A token row. */
export type TokenRow = Selectable<ApiTokensTable>;
/** A history row. */
export type HistoryRow = Selectable<HistoryTable>;

/** Paging arguments of every list query. */
export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** A history entry written in the same transaction as what it records. */
export type HistoryEntry = Omit<Insertable<HistoryTable>, 'details' | 'at'> & {
  readonly details?: Readonly<Record<string, string>>;
};

/** A verdict about to be stored. */
export interface NewVerdict {
  readonly valid: boolean;
  readonly findings: readonly StoredFinding[];
  readonly tests: readonly StoredTestResult[];
  readonly opaVersion: string;
  readonly catalogSha256: string;
}

type Db = Kysely<RegistryDatabase> | Transaction<RegistryDatabase>;

/** PostgreSQL unique_violation. */
function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown }).code === '23505';
}

const bundleMetaColumns = [
  'sha256',
  'seq',
  'policy_set_version_id',
  'revision',
  'size_bytes',
  'signing_key_id',
  'signing_algorithm',
  'created_by',
  'created_at',
] as const;

/** All SQL of the registry. Methods that write take the history entry to record with it. */
@Injectable()
export class RegistryRepository {
  constructor(@Inject(REGISTRY_DB) readonly db: Kysely<RegistryDatabase>) {}

  /** Runs `work` in one transaction. */
  transaction<T>(work: (tx: Transaction<RegistryDatabase>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /** Appends a history entry. */
  async recordHistory(db: Db, entry: HistoryEntry): Promise<void> {
    await db
      .insertInto('history')
      .values({ ...entry, details: JSON.stringify(entry.details ?? {}) })
      .execute();
  }

  // --- tokens

  /** Stores a token hash; a taken name is a 409. */
  async createToken(
    values: { name: string; role: string; tokenSha256: string },
    actor: string,
  ): Promise<TokenRow> {
    try {
      return await this.transaction(async (tx) => {
        const row = await tx
          .insertInto('api_tokens')
          .values({
            name: values.name,
            role: values.role,
            token_sha256: values.tokenSha256,
            created_by: actor,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.recordHistory(tx, {
          actor,
          action: 'token.created',
          entity_kind: 'api_token',
          entity_id: row.id,
          zone: null,
          details: { name: row.name, role: row.role },
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AlreadyExistsError(`an API token named "${values.name}" exists already`, {
          cause: error,
          details: { name: values.name },
        });
      }
      throw error;
    }
  }

  /** The unrevoked token with this hash, if any. */
  findActiveToken(tokenSha256: string): Promise<TokenRow | undefined> {
    return this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_sha256', '=', tokenSha256)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
  }

  /** Tokens in creation order. */
  listTokens(page: PageRequest): Promise<TokenRow[]> {
    let query = this.db
      .selectFrom('api_tokens')
      .selectAll()
      .orderBy('seq')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '>', decodeCursor(page.cursor));
    return query.execute();
  }

  /** Marks a token revoked (idempotent); unknown id is a 404. */
  async revokeToken(id: string, actor: string): Promise<TokenRow> {
    return this.transaction(async (tx) => {
      const row = await tx
        .updateTable('api_tokens')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) {
        const existing = await tx
          .selectFrom('api_tokens')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirst();
        if (existing === undefined) throw new NotFoundError(`no API token ${id}`);
        return existing;
      }
      await this.recordHistory(tx, {
        actor,
        action: 'token.revoked',
        entity_kind: 'api_token',
        entity_id: row.id,
        zone: null,
        details: { name: row.name },
      });
      return row;
    });
  }

  // --- zones and catalog

  /** Creates a zone; a taken name is a 409. */
  async createZone(name: string, description: string, actor: string): Promise<ZoneRow> {
    try {
      return await this.transaction(async (tx) => {
        const row = await tx
          .insertInto('zones')
          .values({ name, description, created_by: actor })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.recordHistory(tx, {
          actor,
          action: 'zone.created',
          entity_kind: 'zone',
          entity_id: row.id,
          zone: name,
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AlreadyExistsError(`zone "${name}" exists already`, {
          cause: error,
          details: { zone: name },
        });
      }
      throw error;
    }
  }

  /** The zone named `name`, or a 404. */
  async zone(name: string): Promise<ZoneRow> {
    const row = await this.db
      .selectFrom('zones')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (row === undefined)
      throw new NotFoundError(`no zone "${name}"`, { details: { zone: name } });
    return row;
  }

  /** Zones in creation order. */
  listZones(page: PageRequest): Promise<ZoneRow[]> {
    let query = this.db
      .selectFrom('zones')
      .selectAll()
      .orderBy('seq')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '>', decodeCursor(page.cursor));
    return query.execute();
  }

  /** Adds a catalog resource; a taken identifier or catalog id is a 409. */
  async createResource(
    zone: ZoneRow,
    values: Omit<Insertable<ResourcesTable>, 'zone_id' | 'created_by'>,
    actor: string,
  ): Promise<ResourceRow> {
    try {
      return await this.transaction(async (tx) => {
        const row = await tx
          .insertInto('resources')
          .values({ ...values, zone_id: zone.id, created_by: actor })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.recordHistory(tx, {
          actor,
          action: 'resource.created',
          entity_kind: 'resource',
          entity_id: row.identifier,
          zone: zone.name,
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AlreadyExistsError(
          `zone "${zone.name}" has a resource with identifier "${values.identifier}" or id "${values.catalog_id}" already`,
          { cause: error, details: { identifier: values.identifier, id: values.catalog_id } },
        );
      }
      throw error;
    }
  }

  /** The zone's resource with this identifier, or a 404. */
  async resource(zone: ZoneRow, identifier: string): Promise<ResourceRow> {
    const row = await this.db
      .selectFrom('resources')
      .selectAll()
      .where('zone_id', '=', zone.id)
      .where('identifier', '=', identifier)
      .executeTakeFirst();
    if (row === undefined)
      throw new NotFoundError(`zone "${zone.name}" has no resource ${identifier}`);
    return row;
  }

  /** The zone's resources in creation order. */
  listResources(zone: ZoneRow, page: PageRequest): Promise<ResourceRow[]> {
    let query = this.db
      .selectFrom('resources')
      .selectAll()
      .where('zone_id', '=', zone.id)
      .orderBy('seq')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '>', decodeCursor(page.cursor));
    return query.execute();
  }

  /** The zone's whole catalog, ordered by identifier (what validation runs against). */
  catalog(zone: ZoneRow): Promise<ResourceRow[]> {
    return this.db
      .selectFrom('resources')
      .selectAll()
      .where('zone_id', '=', zone.id)
      .orderBy('identifier')
      .execute();
  }

  // --- policies and policy sets

  /** Creates a policy or policy set; a taken name in the zone is a 409. */
  async createNamed(
    table: 'policies' | 'policy_sets',
    zone: ZoneRow,
    name: string,
    description: string,
    actor: string,
  ): Promise<NamedRow> {
    const kind = table === 'policies' ? 'policy' : 'policy_set';
    try {
      return await this.transaction(async (tx) => {
        const row = await tx
          .insertInto(table)
          .values({ zone_id: zone.id, name, description, created_by: actor })
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.recordHistory(tx, {
          actor,
          action: `${kind}.created`,
          entity_kind: kind,
          entity_id: row.id,
          zone: zone.name,
          details: { name },
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AlreadyExistsError(
          `zone "${zone.name}" has a ${kind.replace('_', ' ')} named "${name}" already`,
          { cause: error, details: { zone: zone.name, name } },
        );
      }
      throw error;
    }
  }

  /** The zone's policy or policy set named `name`, or a 404. */
  async named(table: 'policies' | 'policy_sets', zone: ZoneRow, name: string): Promise<NamedRow> {
    const row = await this.db
      .selectFrom(table)
      .selectAll()
      .where('zone_id', '=', zone.id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (row === undefined) {
      const kind = table === 'policies' ? 'policy' : 'policy set';
      throw new NotFoundError(`zone "${zone.name}" has no ${kind} "${name}"`);
    }
    return row;
  }

  /** The zone's policies or policy sets in creation order. */
  listNamed(
    table: 'policies' | 'policy_sets',
    zone: ZoneRow,
    page: PageRequest,
  ): Promise<NamedRow[]> {
    let query = this.db
      .selectFrom(table)
      .selectAll()
      .where('zone_id', '=', zone.id)
      .orderBy('seq')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '>', decodeCursor(page.cursor));
    return query.execute();
  }

  // --- policy versions

  /** The policy's version with this content sha, if any. */
  policyVersionBySha(policyId: string, sha: string): Promise<PolicyVersionRow | undefined> {
    return this.db
      .selectFrom('policy_versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .where('content_sha256', '=', sha)
      .executeTakeFirst();
  }

  /** The policy's version `id`, or a 404. */
  async policyVersion(policyId: string, id: string): Promise<PolicyVersionRow> {
    const row = await this.db
      .selectFrom('policy_versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`no policy version ${id} of this policy`);
    return row;
  }

  /** Policy versions by id, with the name of their policy and zone. */
  policyVersionsByIds(
    ids: readonly string[],
  ): Promise<(PolicyVersionRow & { policy_name: string; zone_id: string })[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('policy_versions')
      .innerJoin('policies', 'policies.id', 'policy_versions.policy_id')
      .selectAll('policy_versions')
      .select(['policies.name as policy_name', 'policies.zone_id as zone_id'])
      .where('policy_versions.id', 'in', ids)
      .execute();
  }

  /** The policy's versions, newest first. */
  listPolicyVersions(policyId: string, page: PageRequest): Promise<PolicyVersionRow[]> {
    let query = this.db
      .selectFrom('policy_versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .orderBy('seq', 'desc')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '<', decodeCursor(page.cursor));
    return query.execute();
  }

  /**
   * Stores a policy version (unless identical content exists already) and its
   * verdict in one transaction; returns the version and whether it is new.
   */
  async storePolicyVersion(
    values: {
      policyId: string;
      sha: string;
      content: PolicyVersionContent;
      sourceFormat: string;
      zone: string;
    },
    verdict: NewVerdict,
    actor: string,
  ): Promise<{ row: PolicyVersionRow; created: boolean; verdict: VerdictRow }> {
    return this.transaction(async (tx) => {
      const inserted = await tx
        .insertInto('policy_versions')
        .values({
          policy_id: values.policyId,
          content_sha256: values.sha,
          content: JSON.stringify(values.content),
          source_format: values.sourceFormat,
          created_by: actor,
        })
        .onConflict((conflict) => conflict.columns(['policy_id', 'content_sha256']).doNothing())
        .returningAll()
        .executeTakeFirst();
      const row =
        inserted ??
        (await tx
          .selectFrom('policy_versions')
          .selectAll()
          .where('policy_id', '=', values.policyId)
          .where('content_sha256', '=', values.sha)
          .executeTakeFirstOrThrow());
      return this.finishVersion(tx, 'policy_version', row, inserted !== undefined, {
        details: { content_sha256: values.sha },
        verdict,
        actor,
        zone: values.zone,
      });
    });
  }

  /** Appends a verdict about an existing policy-set version (e.g. from a bundle build). */
  recordSetVersionVerdict(
    setVersionId: string,
    verdict: NewVerdict,
    actor: string,
    zone: string,
  ): Promise<VerdictRow> {
    return this.transaction((tx) =>
      this.insertVerdict(tx, { policy_set_version_id: setVersionId }, verdict, actor, zone),
    );
  }

  /**
   * The common end of storing a policy or policy-set version: records its
   * creation in history when it is new, then appends its verdict.
   */
  private async finishVersion<Row extends { id: string }>(
    tx: Transaction<RegistryDatabase>,
    kind: 'policy_version' | 'policy_set_version',
    row: Row,
    created: boolean,
    context: {
      details: Readonly<Record<string, string>>;
      verdict: NewVerdict;
      actor: string;
      zone: string;
    },
  ): Promise<{ row: Row; created: boolean; verdict: VerdictRow }> {
    const { details, verdict, actor, zone } = context;
    if (created) {
      await this.recordHistory(tx, {
        actor,
        action: `${kind}.created`,
        entity_kind: kind,
        entity_id: row.id,
        zone,
        details,
      });
    }
    const subject =
      kind === 'policy_version' ? { policy_version_id: row.id } : { policy_set_version_id: row.id };
    const stored = await this.insertVerdict(tx, subject, verdict, actor, zone);
    return { row, created, verdict: stored };
  }

  private async insertVerdict(
    tx: Transaction<RegistryDatabase>,
    subject: { policy_version_id: string } | { policy_set_version_id: string },
    verdict: NewVerdict,
    actor: string,
    zone: string,
  ): Promise<VerdictRow> {
    const row = await tx
      .insertInto('verdicts')
      .values({
        policy_version_id: 'policy_version_id' in subject ? subject.policy_version_id : null,
        policy_set_version_id:
          'policy_set_version_id' in subject ? subject.policy_set_version_id : null,
        valid: verdict.valid,
        findings: JSON.stringify(verdict.findings),
        tests: JSON.stringify(verdict.tests),
        opa_version: verdict.opaVersion,
        catalog_sha256: verdict.catalogSha256,
        created_by: actor,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.recordHistory(tx, {
      actor,
      action: 'verdict.recorded',
      entity_kind: 'policy_version_id' in subject ? 'policy_version' : 'policy_set_version',
      entity_id:
        'policy_version_id' in subject ? subject.policy_version_id : subject.policy_set_version_id,
      zone,
      details: { verdict_id: row.id, valid: String(row.valid) },
    });
    return row;
  }

  /** The latest verdict of each given policy or policy-set version. */
  async latestVerdicts(
    column: 'policy_version_id' | 'policy_set_version_id',
    ids: readonly string[],
  ): Promise<Map<string, VerdictRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('verdicts')
      .selectAll()
      .distinctOn(column)
      .where(column, 'in', ids)
      .orderBy(column)
      .orderBy('seq', 'desc')
      .execute();
    return new Map(rows.map((row) => [row[column] ?? '', row]));
  }

  // --- policy-set versions

  /** The set's version with this manifest sha, if any. */
  policySetVersionBySha(setId: string, sha: string): Promise<PolicySetVersionRow | undefined> {
    return this.db
      .selectFrom('policy_set_versions')
      .selectAll()
      .where('policy_set_id', '=', setId)
      .where('manifest_sha256', '=', sha)
      .executeTakeFirst();
  }

  /** The set's version `id`, or a 404. */
  async policySetVersion(setId: string, id: string): Promise<PolicySetVersionRow> {
    const row = await this.db
      .selectFrom('policy_set_versions')
      .selectAll()
      .where('policy_set_id', '=', setId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined)
      throw new NotFoundError(`no policy-set version ${id} of this policy set`);
    return row;
  }

  /** The set's versions, newest first. */
  listPolicySetVersions(setId: string, page: PageRequest): Promise<PolicySetVersionRow[]> {
    let query = this.db
      .selectFrom('policy_set_versions')
      .selectAll()
      .where('policy_set_id', '=', setId)
      .orderBy('seq', 'desc')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('seq', '<', decodeCursor(page.cursor));
    return query.execute();
  }

  /** Stores a policy-set version (unless the manifest exists already) and its verdict, atomically. */
  async storePolicySetVersion(
    values: { setId: string; sha: string; manifest: PolicySetManifest; zone: string },
    verdict: NewVerdict,
    actor: string,
  ): Promise<{ row: PolicySetVersionRow; created: boolean; verdict: VerdictRow }> {
    return this.transaction(async (tx) => {
      const inserted = await tx
        .insertInto('policy_set_versions')
        .values({
          policy_set_id: values.setId,
          manifest_sha256: values.sha,
          manifest: JSON.stringify(values.manifest),
          created_by: actor,
        })
        .onConflict((conflict) =>
          conflict.columns(['policy_set_id', 'manifest_sha256']).doNothing(),
        )
        .returningAll()
        .executeTakeFirst();
      const row =
        inserted ??
        (await tx
          .selectFrom('policy_set_versions')
          .selectAll()
          .where('policy_set_id', '=', values.setId)
          .where('manifest_sha256', '=', values.sha)
          .executeTakeFirstOrThrow());
      return this.finishVersion(tx, 'policy_set_version', row, inserted !== undefined, {
        details: { manifest_sha256: values.sha },
        verdict,
        actor,
        zone: values.zone,
      });
    });
  }

  // --- bundles

  /** The bundles built for the given policy-set versions, by version id. */
  async bundlesOf(setVersionIds: readonly string[]): Promise<Map<string, BundleMetaRow>> {
    if (setVersionIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('bundles')
      .select(bundleMetaColumns)
      .where('policy_set_version_id', 'in', setVersionIds)
      .execute();
    return new Map(rows.map((row) => [row.policy_set_version_id, row]));
  }

  /** Stores a built bundle (or returns the one stored meanwhile for the same version). */
  async storeBundle(
    values: Omit<Insertable<BundlesTable>, 'created_by' | 'size_bytes'> & { bytes: Buffer },
    zone: string,
    actor: string,
  ): Promise<{ row: BundleMetaRow; created: boolean }> {
    return this.transaction(async (tx) => {
      const inserted = await tx
        .insertInto('bundles')
        .values({ ...values, size_bytes: values.bytes.length, created_by: actor })
        .onConflict((conflict) => conflict.doNothing())
        .returning(bundleMetaColumns)
        .executeTakeFirst();
      if (inserted === undefined) {
        const existing = await tx
          .selectFrom('bundles')
          .select(bundleMetaColumns)
          .where('policy_set_version_id', '=', values.policy_set_version_id)
          .executeTakeFirstOrThrow();
        return { row: existing, created: false };
      }
      await this.recordHistory(tx, {
        actor,
        action: 'bundle.created',
        entity_kind: 'bundle',
        entity_id: inserted.sha256,
        zone,
        details: {
          policy_set_version_id: inserted.policy_set_version_id,
          revision: inserted.revision,
        },
      });
      return { row: inserted, created: true };
    });
  }

  /** The bundle with this sha256, bytes included, or a 404. */
  async bundle(sha256: string): Promise<Selectable<BundlesTable>> {
    const row = await this.db
      .selectFrom('bundles')
      .selectAll()
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`no bundle ${sha256}`);
    return row;
  }

  // --- history

  /** History entries, newest first, optionally of one zone and entity kind. */
  listHistory(
    filter: { zone?: string | undefined; entityKind?: string | undefined },
    page: PageRequest,
  ): Promise<HistoryRow[]> {
    let query = this.db
      .selectFrom('history')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(page.limit + 1);
    if (filter.zone !== undefined) query = query.where('zone', '=', filter.zone);
    if (filter.entityKind !== undefined) query = query.where('entity_kind', '=', filter.entityKind);
    if (page.cursor !== undefined) query = query.where('seq', '<', decodeCursor(page.cursor));
    return query.execute();
  }

  // --- expected cases

  /**
   * Stores a new revision of the set's expected cases (the set row is locked, so
   * concurrent writers get consecutive revisions) and records who replaced them.
   */
  putExpectedCases(
    set: NamedRow,
    zone: string,
    cases: readonly StoredCase[],
    actor: string,
  ): Promise<ExpectedCaseListRow> {
    return this.transaction(async (tx) => {
      await tx
        .selectFrom('policy_sets')
        .select('id')
        .where('id', '=', set.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const latest = await tx
        .selectFrom('expected_case_lists')
        .select((eb) => eb.fn.max('revision').as('revision'))
        .where('policy_set_id', '=', set.id)
        .executeTakeFirst();
      const row = await tx
        .insertInto('expected_case_lists')
        .values({
          policy_set_id: set.id,
          revision: (latest?.revision ?? 0) + 1,
          cases: JSON.stringify(cases),
          created_by: actor,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.recordHistory(tx, {
        actor,
        action: 'expected_cases.replaced',
        entity_kind: 'policy_set',
        entity_id: set.id,
        zone,
        details: { revision: String(row.revision), cases: String(cases.length) },
      });
      return row;
    });
  }

  /** The set's current expected cases (its latest revision), if any were ever stored. */
  latestExpectedCases(setId: string): Promise<ExpectedCaseListRow | undefined> {
    return this.db
      .selectFrom('expected_case_lists')
      .selectAll()
      .where('policy_set_id', '=', setId)
      .orderBy('revision', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The latest run of expected cases on a policy-set version, if any. */
  latestExpectedCaseRun(setVersionId: string): Promise<ExpectedCaseRunRow | undefined> {
    return this.db
      .selectFrom('expected_case_runs')
      .innerJoin(
        'expected_case_lists',
        'expected_case_lists.id',
        'expected_case_runs.expected_case_list_id',
      )
      .selectAll('expected_case_runs')
      .select('expected_case_lists.revision')
      .where('expected_case_runs.policy_set_version_id', '=', setVersionId)
      .orderBy('expected_case_runs.seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Stores a run (or keeps the one stored meanwhile for the same version and list). */
  async storeExpectedCaseRun(
    values: {
      policySetVersionId: string;
      list: ExpectedCaseListRow;
      bundleSha256: string;
      results: readonly StoredCaseResult[];
      counts: { passed: number; failed: number; invalid: number };
    },
    zone: string,
    actor: string,
  ): Promise<ExpectedCaseRunRow> {
    return this.transaction(async (tx) => {
      const inserted = await tx
        .insertInto('expected_case_runs')
        .values({
          policy_set_version_id: values.policySetVersionId,
          expected_case_list_id: values.list.id,
          bundle_sha256: values.bundleSha256,
          passed: values.counts.passed,
          failed: values.counts.failed,
          invalid: values.counts.invalid,
          results: JSON.stringify(values.results),
          created_by: actor,
        })
        .onConflict((conflict) =>
          conflict.columns(['policy_set_version_id', 'expected_case_list_id']).doNothing(),
        )
        .returningAll()
        .executeTakeFirst();
      const row =
        inserted ??
        (await tx
          .selectFrom('expected_case_runs')
          .selectAll()
          .where('policy_set_version_id', '=', values.policySetVersionId)
          .where('expected_case_list_id', '=', values.list.id)
          .executeTakeFirstOrThrow());
      if (inserted !== undefined) {
        await this.recordHistory(tx, {
          actor,
          action: 'expected_cases.run',
          entity_kind: 'policy_set_version',
          entity_id: values.policySetVersionId,
          zone,
          details: {
            revision: String(values.list.revision),
            passed: String(row.passed),
            failed: String(row.failed),
          },
        });
      }
      return { ...row, revision: values.list.revision };
    });
  }
}
