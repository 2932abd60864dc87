// Test support: the registry the coordinator reads is admin-api's. Its schema
// is created by admin-api's own CLI (apps never import apps) and rows are
// inserted with SQL, as admin-api would have written them.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Client } from 'pg';

const run = promisify(execFile);
const workspace = fileURLToPath(new URL('../../../../', import.meta.url));

/** Creates admin-api's registry tables in the database at `postgresUrl`. */
export async function migrateRegistry(postgresUrl: string): Promise<void> {
  await run(process.execPath, [`${workspace}apps/admin-api/dist/cli.js`, 'migrate'], {
    env: { ...process.env, CARACAL_POSTGRES_URL: postgresUrl },
    cwd: workspace,
  });
}

/** How a seeded version was judged by the validator. */
export type SeededVerdict = 'valid' | 'invalid' | 'none';

/** A policy-set version in the registry, with what the coordinator reads of it. */
export interface SeededVersion {
  readonly zoneId: string;
  readonly policySetId: string;
  readonly versionId: string;
  readonly manifestSha256: string;
  readonly bundleSha256: string;
}

/** Inserts registry rows (zones, a policy set, versions with verdicts and bundles) over one connection. */
export class RegistryFixtures {
  private readonly client: Client;
  private readonly policySets = new Map<string, string>();

  constructor(postgresUrl: string) {
    this.client = new Client({ connectionString: postgresUrl });
  }

  /** Opens the connection. */
  async connect(): Promise<this> {
    await this.client.connect();
    return this;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.client.end();
  }

  /** Creates a zone and its policy set; returns the policy set id. */
  async zone(zoneId: string): Promise<string> {
    const existing = this.policySets.get(zoneId);
    if (existing) return existing;
    const zone = await this.client.query<{ id: string }>(
      `insert into zones (name, description, created_by) values ($1, '', 'test') returning id`,
      [zoneId],
    );
    const set = await this.client.query<{ id: string }>(
      `insert into policy_sets (zone_id, name, description, created_by) values ($1, 'main', '', 'test') returning id`,
      [zone.rows[0]!.id],
    );
    this.policySets.set(zoneId, set.rows[0]!.id);
    return set.rows[0]!.id;
  }

  /**
   * Adds a version of the zone's policy set, with a verdict and (unless
   * `bundle` is false) a bundle row; `manifestSha256` and `bundleSha256`
   * default to fresh random values (give real ones when replicas load it).
   */
  async version(
    zoneId: string,
    options: {
      readonly verdict?: SeededVerdict;
      readonly manifestSha256?: string;
      readonly bundleSha256?: string;
      readonly bundle?: boolean;
    } = {},
  ): Promise<SeededVersion> {
    const policySetId = await this.zone(zoneId);
    const manifestSha256 = options.manifestSha256 ?? sha(randomUUID());
    const bundleSha256 = options.bundleSha256 ?? sha(randomUUID());
    const manifest = {
      schema: 'caracal-deploy.policy-set-manifest.v1',
      zone: zoneId,
      policy_set: 'main',
      policy_versions: [],
    };
    const version = await this.client.query<{ id: string }>(
      `insert into policy_set_versions (policy_set_id, manifest_sha256, manifest, created_by)
       values ($1, $2, $3, 'test') returning id`,
      [policySetId, manifestSha256, JSON.stringify(manifest)],
    );
    const versionId = version.rows[0]!.id;
    const verdict = options.verdict ?? 'valid';
    if (verdict !== 'none') {
      await this.client.query(
        `insert into verdicts (policy_set_version_id, valid, findings, tests, opa_version, catalog_sha256, created_by)
         values ($1, $2, '[]', '[]', 'test', $3, 'test')`,
        [versionId, verdict === 'valid', sha('catalog')],
      );
    }
    if (options.bundle !== false) {
      await this.client.query(
        `insert into bundles (sha256, policy_set_version_id, revision, bytes, size_bytes, signing_key_id, signing_algorithm, created_by)
         values ($1, $2, $3, $4, 0, 'test', 'ES256', 'test')`,
        [bundleSha256, versionId, manifestSha256, Buffer.alloc(0)],
      );
    }
    return { zoneId, policySetId, versionId, manifestSha256, bundleSha256 };
  }

  /**
   * Records a run of the policy set's expected cases (revision 1, created on
   * first use) on `version`'s bundle, as admin-api does after simulation: all
   * passed unless `failed` is given.
   */
  async expectedCases(
    version: SeededVersion,
    options: { readonly failed?: number } = {},
  ): Promise<void> {
    const failed = options.failed ?? 0;
    const cases = [
      { name: 'reader-reads', input: {}, expected_decision: 'allow' },
      { name: 'stranger-denied', input: {}, expected_decision: 'deny' },
    ];
    const existing = await this.client.query<{ id: string }>(
      `select id from expected_case_lists where policy_set_id = $1 order by revision desc limit 1`,
      [version.policySetId],
    );
    const list =
      existing.rows.length > 0
        ? existing
        : await this.client.query<{ id: string }>(
            `insert into expected_case_lists (policy_set_id, revision, cases, created_by)
             values ($1, 1, $2, 'test') returning id`,
            [version.policySetId, JSON.stringify(cases)],
          );
    await this.client.query(
      `insert into expected_case_runs (policy_set_version_id, expected_case_list_id, bundle_sha256, passed, failed, invalid, results, created_by)
       values ($1, $2, $3, $4, $5, 0, '[]', 'test')`,
      [version.versionId, list.rows[0]!.id, version.bundleSha256, cases.length - failed, failed],
    );
  }
}

function sha(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
