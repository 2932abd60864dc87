import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import { loadWasmPolicy, readBundle, verifyBundleSignature } from '@caracal-deploy/opa';
import {
  assertReachable,
  createTestDatabase,
  freePort,
  infraSettings,
  startPolicyValidator,
  type RunningService,
  type TestDatabase,
} from '@caracal-deploy/testing';

import type { AdminConfig } from './config/admin.config.js';
import { allRoutes, openApiPath } from './http/route-table.js';
import {
  baselineRego,
  blockedBuiltinRego,
  malformedRego,
  unknownResourceRego,
  wrongPackageRego,
} from './test-support/policies.js';
import { sharedFixture, sharedFixtureText } from './test-support/shared-fixtures.js';
import {
  bootAdmin as bootAdminApp,
  createRootToken,
  adminClient,
  type AdminAnswer,
  type ErrorJson,
} from './test-support/admin-app.test-support.js';

const settings = infraSettings();
const stsInput = sharedFixture('policy-input.sts.valid.json');
const packManifest = sharedFixture('policy-pack-manifest.valid.json');

/** A validator finding as the API returns it. */
interface FindingJson {
  severity: string;
  code: string;
  message: string;
  location: { file: string; line: number; column: number };
  details: Record<string, string>;
}

/**
 * Every JSON field these tests read, typed once: a field a response lacks
 * reads as undefined and fails the assertion that uses it.
 */
interface ApiBody {
  error: ErrorJson & {
    findings: FindingJson[];
    tests: { name: string; passed: boolean }[];
  };
  items: ApiBody[];
  next_cursor: string | null;
  id: string;
  name: string;
  token: string;
  revoked_at: string | null;
  content_sha256: string;
  manifest_sha256: string;
  source_format: string;
  verdict: { valid: boolean; tests: { name: string; passed: boolean }[] };
  content: { modules: { path: string; source: string }[] };
  manifest: { policy_versions: { id: string }[] };
  sha256: string;
  revision: string;
  bundle_sha256: string | null;
  actor: string;
  action: string;
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { name: string; healthy: boolean }[];
}

type Answer = AdminAnswer<ApiBody>;
const client = (baseUrl: string) => adminClient<ApiBody>(baseUrl);

/** Boots admin-api on an ephemeral port against `databaseUrl` and `validatorAddress`. */
async function bootAdmin(
  databaseUrl: string,
  validatorAddress: string,
  overrides: Record<string, string> = {},
): Promise<{ app: INestApplication; config: AdminConfig; call: ReturnType<typeof client> }> {
  const { app, config, baseUrl } = await bootAdminApp({
    CARACAL_POSTGRES_URL: databaseUrl,
    CARACAL_VALIDATOR_ADDRESS: validatorAddress,
    CARACAL_MAX_POLICY_SET_SIZE: '2',
    ...overrides,
  });
  return { app, config, call: client(baseUrl) };
}

/**
 * Spawns the real policy-validator and waits until its gRPC HealthService
 * answers with `expected` (a validator without OPA answers, but NOT_SERVING).
 */
function startValidator(opaBin: string, keyDir: string, expected: ServingStatus) {
  return startPolicyValidator(settings, {
    keyDir,
    keyId: 'admin-api-e2e',
    env: { CARACAL_OPA_BIN: opaBin },
    readyStatus: expected,
  });
}

function findingCodes(answer: Answer): string[] {
  return (answer.body?.error?.findings ?? []).map((finding) => finding.code);
}

function describeAnswer(answer: Answer): string {
  return `HTTP ${answer.status}: ${answer.bytes.toString('utf8').slice(0, 2000)}`;
}

describe('admin-api over HTTP, with PostgreSQL and a real policy-validator', () => {
  let database: TestDatabase;
  let validator: RunningService | undefined;
  let keyDir = '';
  let app: INestApplication;
  let call: ReturnType<typeof client>;
  let admin = '';
  let author = '';
  let viewer = '';
  let baselineVersionId = '';
  let laterVersionId = '';

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('opa', settings);
    database = await createTestDatabase(settings);
    keyDir = mkdtempSync(join(tmpdir(), 'admin-api-e2e-'));
    validator = await startValidator(settings.opaBin, keyDir, ServingStatus.SERVING);
    ({ app, call } = await bootAdmin(database.url, validator.grpcAddress));
    admin = await createRootToken(database.url);
  });

  after(async () => {
    await app?.close();
    await validator?.process.stop();
    await database?.drop();
    if (keyDir !== '') rmSync(keyDir, { recursive: true, force: true });
  });

  describe('authentication and roles', () => {
    it('answers 401 without a token and with an unknown one', async () => {
      const none = await call('GET', '/v1/zones');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthenticated');
      const unknown = await call('GET', '/v1/zones', { token: 'cdt_not-a-real-token' });
      assert.equal(unknown.status, 401);
    });

    it('lets an admin create tokens whose secret is shown once', async () => {
      const created = await call('POST', '/v1/tokens', {
        token: admin,
        json: { name: 'ci-author', role: 'author' },
      });
      assert.equal(created.status, 201, describeAnswer(created));
      assert.match(created.body.token, /^cdt_/);
      author = created.body.token;
      viewer = (
        await call('POST', '/v1/tokens', { token: admin, json: { name: 'dash', role: 'viewer' } })
      ).body.token;
      const listed = await call('GET', '/v1/tokens', { token: admin });
      assert.deepEqual(
        listed.body.items.map((item: { name: string }) => item.name),
        ['root', 'ci-author', 'dash'],
      );
      assert.ok(listed.body.items.every((item: { token?: string }) => item.token === undefined));
    });

    it('answers 403 naming the role needed when the role is too weak', async () => {
      const asViewer = await call('POST', '/v1/zones', { token: viewer, json: { name: 'nope' } });
      assert.equal(asViewer.status, 403);
      assert.equal(asViewer.body.error.code, 'permission_denied');
      assert.equal(asViewer.body.error.details.required_role, 'admin');
      const asAuthor = await call('POST', '/v1/tokens', {
        token: author,
        json: { name: 'x', role: 'admin' },
      });
      assert.equal(asAuthor.status, 403);
    });

    it('refuses a revoked token with 401', async () => {
      const doomed = await call('POST', '/v1/tokens', {
        token: admin,
        json: { name: 'doomed', role: 'viewer' },
      });
      assert.equal((await call('GET', '/v1/zones', { token: doomed.body.token })).status, 200);
      const revoked = await call('DELETE', `/v1/tokens/${doomed.body.id}`, { token: admin });
      assert.equal(revoked.status, 200);
      assert.notEqual(revoked.body.revoked_at, null);
      assert.equal((await call('GET', '/v1/zones', { token: doomed.body.token })).status, 401);
    });
  });

  describe('zones, catalog and policies', () => {
    it('creates, gets and pages zones; a duplicate name is 409', async () => {
      for (const name of ['prod', 'staging', 'dev']) {
        const created = await call('POST', '/v1/zones', { token: admin, json: { name } });
        assert.equal(created.status, 201, describeAnswer(created));
      }
      const duplicate = await call('POST', '/v1/zones', { token: admin, json: { name: 'prod' } });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.error.code, 'already_exists');
      assert.equal((await call('GET', '/v1/zones/prod', { token: viewer })).body.name, 'prod');
      assert.equal((await call('GET', '/v1/zones/nowhere', { token: viewer })).status, 404);

      const first = await call('GET', '/v1/zones?limit=2', { token: viewer });
      assert.deepEqual(
        first.body.items.map((zone: { name: string }) => zone.name),
        ['prod', 'staging'],
      );
      assert.equal(typeof first.body.next_cursor, 'string');
      const second = await call('GET', `/v1/zones?limit=2&cursor=${first.body.next_cursor}`, {
        token: viewer,
      });
      assert.deepEqual(
        second.body.items.map((zone: { name: string }) => zone.name),
        ['dev'],
      );
      assert.equal(second.body.next_cursor, null);
      assert.equal((await call('GET', '/v1/zones?limit=201', { token: viewer })).status, 400);
    });

    it('adds catalog resources; a bad identifier is 400 naming the field', async () => {
      const api = await call('POST', '/v1/zones/prod/resources', {
        token: admin,
        json: {
          identifier: 'resource://api',
          id: 'resource-1',
          type: 'http',
          scopes: ['read', 'write'],
          operations: ['read', 'write'],
        },
      });
      assert.equal(api.status, 201, describeAnswer(api));
      const billing = await call('POST', '/v1/zones/prod/resources', {
        token: admin,
        json: {
          identifier: 'resource://billing',
          id: 'resource-2',
          type: 'http',
          scopes: ['read', 'pay'],
          operations: ['pay'],
        },
      });
      assert.equal(billing.status, 201);
      const bad = await call('POST', '/v1/zones/prod/resources', {
        token: admin,
        json: { identifier: 'https://api', id: 'r', type: 'http', scopes: [], operations: [] },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.violations[0]?.field, 'identifier');
      const again = await call('POST', '/v1/zones/prod/resources', {
        token: admin,
        json: {
          identifier: 'resource://api',
          id: 'other',
          type: 'http',
          scopes: [],
          operations: [],
        },
      });
      assert.equal(again.status, 409);
      assert.equal(
        (await call('GET', '/v1/zones/prod/resources/api', { token: viewer })).body.id,
        'resource-1',
      );
      assert.equal(
        (await call('GET', '/v1/zones/prod/resources', { token: viewer })).body.items.length,
        2,
      );
    });

    it('creates policies; a duplicate name in the zone is 409', async () => {
      for (const name of ['baseline', 'broken', 'extra', 'pack']) {
        const created = await call('POST', '/v1/zones/prod/policies', {
          token: author,
          json: { name },
        });
        assert.equal(created.status, 201, describeAnswer(created));
      }
      assert.equal(
        (
          await call('POST', '/v1/zones/prod/policies', {
            token: author,
            json: { name: 'baseline' },
          })
        ).status,
        409,
      );
      assert.equal(
        (await call('GET', '/v1/zones/prod/policies/baseline', { token: viewer })).body.name,
        'baseline',
      );
      assert.equal(
        (await call('GET', '/v1/zones/prod/policies', { token: viewer })).body.items.length,
        4,
      );
    });
  });

  describe('policy versions', () => {
    const versions = '/v1/zones/prod/policies/baseline/versions';
    const baseline = {
      modules: [{ path: 'policies/baseline.rego', source: baselineRego() }],
      tests: [{ name: 'allows scoped read', input: stsInput, expected_decision: 'allow' }],
    };

    it('validates and stores a new version (201); identical content returns it (200)', async () => {
      const created = await call('POST', versions, { token: author, json: baseline });
      assert.equal(created.status, 201, describeAnswer(created));
      assert.match(created.body.content_sha256, /^[0-9a-f]{64}$/);
      assert.equal(created.body.verdict.valid, true);
      assert.deepEqual(
        created.body.verdict.tests.map((test: { name: string; passed: boolean }) => [
          test.name,
          test.passed,
        ]),
        [['allows scoped read', true]],
      );
      baselineVersionId = created.body.id;

      // Same content, keys in another order: same sha, same version.
      const again = await call('POST', versions, {
        token: author,
        json: { tests: baseline.tests, modules: baseline.modules, data: [] },
      });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, baselineVersionId);

      const fetched = await call('GET', `${versions}/${baselineVersionId}`, { token: viewer });
      assert.equal(fetched.body.content.modules[0]?.source, baselineRego());
      const malformedId = await call('GET', `${versions}/not-a-uuid`, { token: viewer });
      assert.equal(malformedId.status, 400);
      assert.equal(malformedId.body.error.violations[0]?.field, 'id');
      const unknownId = await call('GET', `${versions}/00000000-0000-4000-8000-000000000000`, {
        token: viewer,
      });
      assert.equal(unknownId.status, 404);
      const listed = await call('GET', versions, { token: viewer });
      assert.deepEqual(
        listed.body.items.map((item: { id: string }) => item.id),
        [baselineVersionId],
      );
    });

    it('answers 400 naming the field for a schema-invalid body, and for non-JSON', async () => {
      const invalid = await call('POST', versions, {
        token: author,
        json: { modules: [{ path: 1, source: 'x' }] },
      });
      assert.equal(invalid.status, 400);
      assert.match(invalid.body.error.message, /modules\[0\]\.path: expected string/);
      assert.equal(invalid.body.error.violations[0]?.field, 'modules[0].path');

      const notJson = await call('POST', versions, {
        token: author,
        raw: '{"modules": [',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(notJson.status, 400);
      assert.match(notJson.body.error.message, /not valid JSON/);

      const wrongType = await call('POST', versions, {
        token: author,
        raw: 'modules=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(wrongType.status, 400);
      assert.equal(wrongType.body.error.violations[0]?.field, 'content-type');
    });

    it('answers 413 for a body over the limit and stores nothing', async () => {
      const huge = {
        modules: [
          {
            path: 'policies/huge.rego',
            source: `package caracal.authz\n# ${'x'.repeat(1024 * 1024)}\n`,
          },
        ],
      };
      const answer = await call('POST', '/v1/zones/prod/policies/broken/versions', {
        token: author,
        json: huge,
      });
      assert.equal(answer.status, 413);
      assert.equal(answer.body.error.code, 'resource_exhausted');
      const listed = await call('GET', '/v1/zones/prod/policies/broken/versions', {
        token: viewer,
      });
      assert.deepEqual(listed.body.items, []);
    });

    async function rejected(source: string, extra: Record<string, unknown> = {}): Promise<Answer> {
      const answer = await call('POST', '/v1/zones/prod/policies/broken/versions', {
        token: author,
        json: { modules: [{ path: 'policies/broken.rego', source }], ...extra },
      });
      assert.equal(answer.status, 422, describeAnswer(answer));
      assert.equal(answer.body.error.code, 'invalid_argument');
      assert.match(answer.body.error.details['policy_version_id'] ?? '', /^[0-9a-f-]{36}$/);
      return answer;
    }

    it('answers 422 with line and column for malformed Rego', async () => {
      const answer = await rejected(malformedRego);
      const finding = answer.body.error.findings.find(
        (f: { code: string }) => f.code === 'rego_compile_error',
      );
      assert.ok(finding, describeAnswer(answer));
      assert.equal(finding.severity, 'error');
      assert.equal(finding.location.file, 'policies/broken.rego');
      assert.ok(finding.location.line > 0 && finding.location.column > 0, JSON.stringify(finding));
      assert.match(
        answer.body.error.violations[0]?.field ?? '',
        /^policies\/broken\.rego:\d+:\d+$/,
      );
    });

    it('answers 422 for the wrong package', async () => {
      const answer = await rejected(wrongPackageRego);
      const finding = answer.body.error.findings.find((f) => f.code === 'wrong_package');
      assert.ok(finding, describeAnswer(answer));
      assert.equal(finding.location.file, 'policies/broken.rego');
    });

    it('answers 422 when the entrypoint data.caracal.authz.result is missing', async () => {
      const answer = await rejected(
        'package caracal.authz\n\nimport rego.v1\n\ndefault allow := false\n',
      );
      assert.ok(findingCodes(answer).includes('missing_entrypoint'), describeAnswer(answer));
    });

    it('answers 422 naming a blocked builtin and where it is used', async () => {
      const answer = await rejected(blockedBuiltinRego);
      const finding = answer.body.error.findings.find(
        (f: { code: string }) => f.code === 'blocked_builtin',
      );
      assert.ok(finding, describeAnswer(answer));
      assert.equal(finding.details.builtin, 'http.send');
      assert.equal(finding.location.file, 'policies/broken.rego');
    });

    it('answers 422 naming a resource missing from the catalog', async () => {
      const answer = await rejected(unknownResourceRego);
      const finding = answer.body.error.findings.find(
        (f: { code: string }) => f.code === 'unknown_resource',
      );
      assert.ok(finding, describeAnswer(answer));
      assert.match(finding.message, /resource:\/\/missing/);
    });

    it('answers 422 for a grant of a scope its resource does not have', async () => {
      const answer = await rejected(baselineRego('broken'), {
        data: [
          {
            path: 'caracal/grants/data.json',
            json: { 'app-1': [{ resource: 'resource://api', scopes: ['pay'] }] },
          },
        ],
      });
      assert.ok(findingCodes(answer).includes('invalid_grant'), describeAnswer(answer));
    });

    it('answers 422 naming a scope no catalog resource has', async () => {
      const answer = await rejected(baselineRego('broken'), {
        data: [
          {
            path: 'caracal/grants/data.json',
            json: { 'app-1': [{ resource: 'resource://api', scopes: ['teleport'] }] },
          },
        ],
      });
      const finding = answer.body.error.findings.find((f) => f.code === 'unknown_scope');
      assert.ok(finding, describeAnswer(answer));
      assert.match(finding.message, /teleport/);
    });

    it('answers 422 when a pack test expects another decision', async () => {
      const answer = await rejected(baselineRego('broken'), {
        tests: [{ name: 'expects deny', input: stsInput, expected_decision: 'deny' }],
      });
      assert.ok(findingCodes(answer).includes('pack_test_failed'), describeAnswer(answer));
      assert.equal(answer.body.error.tests[0]?.passed, false);
    });

    it('judges identical content again once the catalog has what it lacked (200, now valid)', async () => {
      const later = {
        modules: [
          {
            path: 'policies/later.rego',
            source: baselineRego('later').replace('resource://api', 'resource://later'),
          },
        ],
      };
      const path = '/v1/zones/prod/policies/extra/versions';
      const refused = await call('POST', path, { token: author, json: later });
      assert.equal(refused.status, 422, describeAnswer(refused));
      assert.ok(findingCodes(refused).includes('unknown_resource'));
      const added = await call('POST', '/v1/zones/prod/resources', {
        token: admin,
        json: {
          identifier: 'resource://later',
          id: 'resource-3',
          type: 'http',
          scopes: ['read'],
          operations: ['read'],
        },
      });
      assert.equal(added.status, 201);
      const accepted = await call('POST', path, { token: author, json: later });
      assert.equal(accepted.status, 200, describeAnswer(accepted));
      assert.equal(accepted.body.id, refused.body.error.details['policy_version_id']);
      assert.equal(accepted.body.verdict.valid, true);
      laterVersionId = accepted.body.id;
    });

    it('keeps every rejected version with its verdict, so the history shows them', async () => {
      const listed = await call('GET', '/v1/zones/prod/policies/broken/versions', {
        token: viewer,
      });
      assert.ok(listed.body.items.length >= 6);
      assert.ok(
        listed.body.items.every(
          (item: { verdict: { valid: boolean } }) => item.verdict.valid === false,
        ),
      );
    });

    it('answers 405 with Allow to any attempt to modify a version', async () => {
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const answer = await call(method, `${versions}/${baselineVersionId}`, {
          token: admin,
          json: baseline,
        });
        assert.equal(answer.status, 405, method);
        assert.equal(answer.headers.get('allow'), 'GET, HEAD');
      }
      const unchanged = await call('GET', `${versions}/${baselineVersionId}`, { token: viewer });
      assert.equal(unchanged.status, 200);
    });

    it('uploads the shared fixture pack as a version', async () => {
      const pack = {
        manifest: packManifest,
        files: {
          'policies/baseline.rego': baselineRego('baseline-resource-scope'),
          'policy-input.sts.valid.json': sharedFixtureText('policy-input.sts.valid.json'),
        },
      };
      const created = await call('POST', '/v1/zones/prod/policies/pack/versions:pack', {
        token: author,
        json: pack,
      });
      assert.equal(created.status, 201, describeAnswer(created));
      assert.equal(created.body.source_format, 'pack');
      assert.equal(created.body.verdict.tests[0]?.name, 'allows scoped read');

      const missing = await call('POST', '/v1/zones/prod/policies/pack/versions:pack', {
        token: author,
        json: { ...pack, files: { 'policies/baseline.rego': baselineRego() } },
      });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error.violations[0]?.field, 'files["policy-input.sts.valid.json"]');

      const badManifest = await call('POST', '/v1/zones/prod/policies/pack/versions:pack', {
        token: author,
        json: { ...pack, manifest: { ...packManifest, entrypoint: 'data.other' } },
      });
      assert.equal(badManifest.status, 400);
      assert.equal(badManifest.body.error.violations[0]?.field, 'manifest.entrypoint');
    });
  });

  describe('policy sets and bundles', () => {
    let setVersion: { id: string; manifest_sha256: string };
    let conflicting = '';
    let bundleSha = '';

    it('creates a policy-set version (201), the same list again returns it (200)', async () => {
      assert.equal(
        (
          await call('POST', '/v1/zones/prod/policy-sets', {
            token: author,
            json: { name: 'main' },
          })
        ).status,
        201,
      );
      assert.equal(
        (
          await call('POST', '/v1/zones/prod/policy-sets', {
            token: author,
            json: { name: 'main' },
          })
        ).status,
        409,
      );
      const created = await call('POST', '/v1/zones/prod/policy-sets/main/versions', {
        token: author,
        json: { policy_version_ids: [baselineVersionId] },
      });
      assert.equal(created.status, 201, describeAnswer(created));
      assert.equal(created.body.verdict.valid, true);
      assert.deepEqual(
        created.body.manifest.policy_versions.map((v: { id: string }) => v.id),
        [baselineVersionId],
      );
      setVersion = created.body;
      const again = await call('POST', '/v1/zones/prod/policy-sets/main/versions', {
        token: author,
        json: { policy_version_ids: [baselineVersionId] },
      });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, setVersion.id);
    });

    it('refuses more policy versions than the configured bound, naming the field', async () => {
      const answer = await call('POST', '/v1/zones/prod/policy-sets/main/versions', {
        token: author,
        json: { policy_version_ids: [baselineVersionId, baselineVersionId, baselineVersionId] },
      });
      assert.equal(answer.status, 400);
      assert.match(answer.body.error.violations[0]?.problem ?? '', /at most 2 policy versions/);
    });

    it('stores an invalid merged set with its verdict (422) and refuses to bundle it (422)', async () => {
      const extra = await call('POST', '/v1/zones/prod/policies/extra/versions', {
        token: author,
        json: { modules: [{ path: 'policies/extra.rego', source: baselineRego('extra') }] },
      });
      assert.equal(extra.status, 201, describeAnswer(extra));
      const merged = await call('POST', '/v1/zones/prod/policy-sets/main/versions', {
        token: author,
        json: { policy_version_ids: [baselineVersionId, extra.body.id] },
      });
      assert.equal(merged.status, 422, describeAnswer(merged));
      conflicting = merged.body.error.details['policy_set_version_id'] ?? '';
      const refused = await call(
        'POST',
        `/v1/zones/prod/policy-sets/main/versions/${conflicting}/bundle`,
        {
          token: author,
        },
      );
      assert.equal(refused.status, 422, describeAnswer(refused));
      assert.equal(refused.body.error.code, 'failed_precondition');
      assert.ok(refused.body.error.findings.length > 0);
      const stored = await call('GET', `/v1/zones/prod/policy-sets/main/versions/${conflicting}`, {
        token: viewer,
      });
      assert.equal(stored.body.verdict.valid, false);
      assert.equal(stored.body.bundle_sha256, null);
    });

    it('builds the signed bundle of a valid version once (201, then 200)', async () => {
      const built = await call(
        'POST',
        `/v1/zones/prod/policy-sets/main/versions/${setVersion.id}/bundle`,
        {
          token: author,
        },
      );
      assert.equal(built.status, 201, describeAnswer(built));
      assert.equal(built.body.revision, setVersion.manifest_sha256);
      bundleSha = built.body.sha256;
      const again = await call(
        'POST',
        `/v1/zones/prod/policy-sets/main/versions/${setVersion.id}/bundle`,
        {
          token: author,
        },
      );
      assert.equal(again.status, 200);
      assert.equal(again.body.sha256, bundleSha);
    });

    it('serves the bundle by sha256 with immutable caching, a strong ETag and 304', async () => {
      const answer = await call('GET', `/v1/bundles/${bundleSha}`, { token: viewer });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'application/gzip');
      assert.equal(answer.headers.get('etag'), `"${bundleSha}"`);
      assert.equal(answer.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(createHash('sha256').update(answer.bytes).digest('hex'), bundleSha);

      const cached = await call('GET', `/v1/bundles/${bundleSha}`, {
        token: viewer,
        headers: { 'if-none-match': `"${bundleSha}"` },
      });
      assert.equal(cached.status, 304);
      assert.equal(cached.bytes.length, 0);
      assert.equal(
        (await call('GET', `/v1/bundles/${'0'.repeat(64)}`, { token: viewer })).status,
        404,
      );
      assert.equal(
        (await call('DELETE', `/v1/bundles/${bundleSha}`, { token: admin })).status,
        405,
      );

      // Signature, revision, and the decisions the pack tests expect, from policy.wasm in Node.
      const publicKey = createPublicKey(readFileSync(join(keyDir, 'bundle-signing.pem'), 'utf8'))
        .export({ type: 'spki', format: 'pem' })
        .toString();
      const verified = verifyBundleSignature(answer.bytes, publicKey, { keyId: 'admin-api-e2e' });
      assert.equal(verified.manifest.revision, setVersion.manifest_sha256);
      const bundle = readBundle(answer.bytes);
      const policy = await loadWasmPolicy(bundle.wasm, bundle.data);
      const allow = policy.evaluate(stsInput, 'caracal/authz/result') as { decision: string };
      assert.equal(allow.decision, 'allow');
      const deny = policy.evaluate(
        {
          ...stsInput,
          context: { ...(stsInput['context'] as object), requested_scopes: ['write'] },
        },
        'caracal/authz/result',
      ) as { decision: string };
      assert.equal(deny.decision, 'deny');
    });

    it('ships an uploaded pack: set, bundle, signature, and the decisions its tests expect', async () => {
      const pack = await call('GET', '/v1/zones/prod/policies/pack/versions', { token: viewer });
      const packVersion = pack.body.items[0];
      assert.ok(packVersion, 'the pack was uploaded earlier');
      assert.equal(
        (
          await call('POST', '/v1/zones/prod/policy-sets', {
            token: author,
            json: { name: 'packed' },
          })
        ).status,
        201,
      );
      const set = await call('POST', '/v1/zones/prod/policy-sets/packed/versions', {
        token: author,
        json: { policy_version_ids: [packVersion.id] },
      });
      assert.equal(set.status, 201, describeAnswer(set));
      const built = await call(
        'POST',
        `/v1/zones/prod/policy-sets/packed/versions/${set.body.id}/bundle`,
        {
          token: author,
        },
      );
      assert.equal(built.status, 201, describeAnswer(built));
      const download = await call('GET', `/v1/bundles/${built.body.sha256}`, { token: viewer });
      assert.equal(createHash('sha256').update(download.bytes).digest('hex'), built.body.sha256);
      const publicKey = createPublicKey(readFileSync(join(keyDir, 'bundle-signing.pem'), 'utf8'))
        .export({ type: 'spki', format: 'pem' })
        .toString();
      assert.equal(
        verifyBundleSignature(download.bytes, publicKey, { keyId: 'admin-api-e2e' }).manifest
          .revision,
        set.body.manifest_sha256,
      );
      const bundle = readBundle(download.bytes);
      const policy = await loadWasmPolicy(bundle.wasm, bundle.data);
      const manifestTests = packManifest['tests'] as {
        input_fixture: string;
        expected_decision: string;
      }[];
      for (const test of manifestTests) {
        const result = policy.evaluate(
          sharedFixture(test.input_fixture),
          'caracal/authz/result',
        ) as {
          decision: string;
        };
        assert.equal(result.decision, test.expected_decision, test.input_fixture);
      }
    });

    it('re-validates at build time and refuses a version the catalog no longer supports', async () => {
      assert.equal(
        (
          await call('POST', '/v1/zones/prod/policy-sets', {
            token: author,
            json: { name: 'late' },
          })
        ).status,
        201,
      );
      const created = await call('POST', '/v1/zones/prod/policy-sets/late/versions', {
        token: author,
        json: { policy_version_ids: [laterVersionId] },
      });
      assert.equal(created.status, 201, describeAnswer(created));
      // An operator removes the resource behind the API's back (there is no delete route).
      const pg = new Client({ connectionString: database.url });
      await pg.connect();
      try {
        await pg.query("delete from resources where identifier = 'resource://later'");
      } finally {
        await pg.end();
      }
      const refused = await call(
        'POST',
        `/v1/zones/prod/policy-sets/late/versions/${created.body.id}/bundle`,
        {
          token: author,
        },
      );
      assert.equal(refused.status, 422, describeAnswer(refused));
      assert.ok(findingCodes(refused).includes('unknown_resource'));
      const stored = await call(
        'GET',
        `/v1/zones/prod/policy-sets/late/versions/${created.body.id}`,
        {
          token: viewer,
        },
      );
      assert.equal(stored.body.verdict.valid, false, 'the new verdict is recorded');
      assert.equal(stored.body.bundle_sha256, null);
    });

    it('lists set versions newest first with verdict and bundle', async () => {
      const listed = await call('GET', '/v1/zones/prod/policy-sets/main/versions', {
        token: viewer,
      });
      assert.deepEqual(
        listed.body.items.map((item: { id: string; bundle_sha256: string | null }) => [
          item.id,
          item.bundle_sha256,
        ]),
        [
          [conflicting, null],
          [setVersion.id, bundleSha],
        ],
        'versions of "main" only, newest first',
      );
    });
  });

  describe('history, OpenAPI, health and metrics', () => {
    it('records who created what', async () => {
      const history = await call('GET', '/v1/history?zone=prod&limit=200', { token: viewer });
      const actions = new Set(
        history.body.items.map(
          (entry: { actor: string; action: string }) => `${entry.actor} ${entry.action}`,
        ),
      );
      for (const expected of [
        'token:root zone.created',
        'token:root resource.created',
        'token:ci-author policy.created',
        'token:ci-author policy_version.created',
        'token:ci-author policy_set_version.created',
        'token:ci-author bundle.created',
      ]) {
        assert.ok(actions.has(expected), `${expected} in ${[...actions].join(', ')}`);
      }
    });

    it('answers an unknown route with a JSON 404', async () => {
      const answer = await call('GET', '/v1/nothing-here', { token: viewer });
      assert.equal(answer.status, 404);
      assert.equal(answer.body.error.code, 'not_found');
    });

    it('serves an OpenAPI 3.1 document listing every registered route', async () => {
      const answer = await call('GET', '/v1/openapi.json');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.openapi, '3.1.0');
      // What Express really routes, read from its router, not from the route table.
      const router = (
        app.getHttpAdapter().getInstance() as {
          router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
        }
      ).router;
      const registered = router.stack.flatMap((layer) =>
        // `/*path` is where Nest mounts JsonBodyMiddleware for every method; it serves nothing.
        layer.route === undefined || layer.route.path === '/*path'
          ? []
          : Object.keys(layer.route.methods).map((method) => [
              method,
              openApiPath(layer.route?.path ?? ''),
            ]),
      );
      assert.equal(registered.length, allRoutes.length);
      for (const [method, path] of registered) {
        assert.ok(
          answer.body.paths[path ?? '']?.[method ?? ''],
          `${method} ${path} is in the document`,
        );
      }
    });

    it('reports PostgreSQL and the validator healthy, over HTTP and gRPC', async () => {
      const health = await call('GET', '/v1/health');
      assert.equal(health.status, 200, describeAnswer(health));
      assert.deepEqual(
        health.body.components.map((c: { name: string; healthy: boolean }) => [c.name, c.healthy]),
        [
          ['postgres', true],
          ['policy-validator', true],
        ],
      );
      const grpc = createGrpcClient(HealthService, `127.0.0.1:${app.get(GrpcServerHost).port}`);
      try {
        const response = await grpc.check({ components: [] });
        assert.equal(response.status, ServingStatus.SERVING);
      } finally {
        grpc.close();
      }
    });

    it('serves /metrics on its own port', async () => {
      const port = app.get(MetricsServerHost).port;
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(body, /process_cpu_user_seconds_total\{service="admin-api"\}/);
      // Route templates, never raw paths: zone names must not become label values.
      assert.match(
        body,
        /caracal_admin_http_requests_total\{method="POST",route="\/v1\/zones\/\{zone\}\/policies",status="409",service="admin-api"\} 1/,
      );
      assert.doesNotMatch(body, /route="\/v1\/zones\/prod/);
    });
  });

  describe('with the policy-validator unreachable', () => {
    let down: Awaited<ReturnType<typeof bootAdmin>>;
    before(async () => {
      down = await bootAdmin(database.url, `127.0.0.1:${await freePort()}`, {
        CARACAL_VALIDATOR_TIMEOUT_MS: '5000',
      });
    });
    after(async () => {
      await down?.app.close();
    });

    it('answers 503 and stores nothing', async () => {
      const before = await down.call('GET', '/v1/zones/prod/policies/baseline/versions', {
        token: viewer,
      });
      const answer = await down.call('POST', '/v1/zones/prod/policies/baseline/versions', {
        token: author,
        json: { modules: [{ path: 'policies/new.rego', source: baselineRego('new') }] },
      });
      assert.equal(answer.status, 503, describeAnswer(answer));
      assert.equal(answer.body.error.code, 'unavailable');
      const after = await down.call('GET', '/v1/zones/prod/policies/baseline/versions', {
        token: viewer,
      });
      assert.deepEqual(after.body.items, before.body.items);
      const health = await down.call('GET', '/v1/health');
      assert.equal(health.status, 503);
    });
  });

  describe('with OPA missing in the policy-validator', () => {
    let broken: RunningService;
    let down: Awaited<ReturnType<typeof bootAdmin>>;
    before(async () => {
      broken = await startValidator('/nonexistent/opa', keyDir, ServingStatus.NOT_SERVING);
      down = await bootAdmin(database.url, broken.grpcAddress);
    });
    after(async () => {
      await down?.app.close();
      await broken?.process.stop();
    });

    it('answers 503 and stores nothing', async () => {
      const path = '/v1/zones/prod/policies/baseline/versions';
      const before = await down.call('GET', path, { token: viewer });
      const answer = await down.call('POST', path, {
        token: author,
        json: { modules: [{ path: 'policies/other.rego', source: baselineRego('other') }] },
      });
      assert.equal(answer.status, 503, describeAnswer(answer));
      assert.equal(answer.body.error.code, 'unavailable');
      const after = await down.call('GET', path, { token: viewer });
      assert.deepEqual(after.body.items, before.body.items);
      const health = await down.call('GET', '/v1/health');
      assert.equal(health.status, 503);
      assert.match(JSON.stringify(health.body.components), /nonexistent\/opa/);
    });
  });
});
