import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Decision, type Finding, Severity, ValidationService } from '@caracal-deploy/contracts';
import { InvalidArgumentError, UnavailableError } from '@caracal-deploy/errors';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { loadWasmPolicy, readBundle, verifyBundleSignature } from '@caracal-deploy/opa';
import { validatePolicyResult } from '@caracal-deploy/policy-contract';
import { assertReachable, infraSettings } from '@caracal-deploy/testing';

import { AppModule } from '../app.module.js';
import { loadValidatorConfig } from '../config/validator.config.js';

/** A PolicySource as plain data, easy to vary per test. */
interface Source {
  zoneId: string;
  modules: { path: string; source: string }[];
  data: { path: string; json: Uint8Array }[];
  tests: { name: string; inputJson: Uint8Array; expectedDecision: Decision }[];
  catalog: { identifier: string; id: string; scopes: string[]; operations: string[] }[];
}
type Client = GrpcClient<typeof ValidationService>;

// dist/validation → the app root is two levels up; the shared contracts sit beside the repository.
const appRoot = new URL('../../', import.meta.url);
const contracts = new URL('../../../shared/contracts/caracal/', appRoot);
const settings = infraSettings();

async function fixtureText(path: string): Promise<string> {
  return readFile(new URL(`fixtures/baseline-pack/${path}`, appRoot), 'utf8');
}

async function contractFixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`fixtures/${name}`, contracts), 'utf8')) as Record<
    string,
    unknown
  >;
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The baseline pack: policy, Rego tests, grants, two pack tests and the catalog. */
async function baseline(): Promise<Source> {
  const stsInput = await contractFixture('policy-input.sts.valid.json');
  const writeInput = structuredClone(stsInput);
  (writeInput['context'] as { requested_scopes: string[] }).requested_scopes = ['write'];
  return {
    zoneId: 'zone-1',
    modules: [
      { path: 'policies/baseline.rego', source: await fixtureText('policies/baseline.rego') },
      {
        path: 'policies/baseline_test.rego',
        source: await fixtureText('policies/baseline_test.rego'),
      },
    ],
    data: [
      {
        path: 'caracal/data.json',
        json: new TextEncoder().encode(await fixtureText('caracal/data.json')),
      },
    ],
    tests: [
      { name: 'allows scoped read', inputJson: encode(stsInput), expectedDecision: Decision.ALLOW },
      { name: 'denies write', inputJson: encode(writeInput), expectedDecision: Decision.DENY },
    ],
    catalog: [
      { identifier: 'resource://api', id: 'resource-1', scopes: ['read', 'write'], operations: [] },
    ],
  };
}

/** The baseline with one extra module. */
async function withModule(path: string, source: string): Promise<Source> {
  const base = await baseline();
  return { ...base, modules: [...base.modules, { path, source }] };
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} in source`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

function only(findings: readonly Finding[], code: string): Finding {
  const matching = findings.filter((finding) => finding.code === code);
  assert.equal(
    matching.length,
    1,
    `one ${code} in ${JSON.stringify(findings.map((f) => f.message))}`,
  );
  return matching[0] as Finding;
}

describe('ValidationService over gRPC', () => {
  let app: INestApplicationContext;
  let client: Client;
  let keyDir: string;
  let keyFile: string;

  before(async () => {
    await assertReachable('opa', settings);
    keyDir = await mkdtemp(join(tmpdir(), 'caracal-validator-e2e-'));
    keyFile = join(keyDir, 'keys', 'signing.pem');
    const config = loadValidatorConfig({
      CARACAL_VALIDATOR_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_OPA_BIN: settings.opaBin,
      CARACAL_BUNDLE_SIGNING_KEY_FILE: keyFile,
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'e2e-key',
    });
    app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false });
    client = createGrpcClient(ValidationService, `127.0.0.1:${app.get(GrpcServerHost).port}`);
  });
  after(async () => {
    client.close();
    await app.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('accepts the baseline pack: no findings, every Rego and pack test passes', async () => {
    const response = await client.validate({ source: await baseline() });
    assert.deepEqual(response.findings, []);
    assert.equal(response.valid, true);
    assert.match(response.opaVersion, /^1\.\d+\.\d+$/);
    assert.deepEqual(
      response.tests.map((test) => [test.kind, test.name, test.passed]),
      [
        ['rego', 'caracal.authz_test.test_allows_a_granted_scope', true],
        ['rego', 'caracal.authz_test.test_denies_a_scope_outside_the_grant', true],
        ['rego', 'caracal.authz_test.test_denies_when_nothing_is_requested', true],
        ['pack', 'allows scoped read', true],
        ['pack', 'denies write', true],
      ],
    );
    const read = response.tests.find((test) => test.name === 'allows scoped read');
    assert.equal(read?.actual, Decision.ALLOW);
  });

  it('reports malformed Rego with file, line and column', async () => {
    const source =
      'package caracal.authz.extra\n\nimport rego.v1\n\nbroken if input.x == == 2\n\nother := 1\n';
    const response = await client.validate({
      source: await withModule('policies/extra.rego', source),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'rego_compile_error');
    assert.equal(finding.severity, Severity.ERROR);
    assert.equal(finding.details['opa_code'], 'rego_parse_error');
    // The second `==` on line 5 is the unexpected token.
    assert.deepEqual(
      {
        file: finding.location?.file,
        line: finding.location?.line,
        column: finding.location?.column,
      },
      { file: 'policies/extra.rego', line: 5, column: 22 },
    );
    assert.equal(
      finding.message,
      'policies/extra.rego:5:22: rego_parse_error: unexpected equal token',
    );
  });

  it('rejects a module outside package caracal.authz, naming the file and package', async () => {
    const response = await client.validate({
      source: await withModule('policies/other.rego', 'package other.authz\n\nx := 1\n'),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'wrong_package');
    assert.deepEqual(
      {
        file: finding.location?.file,
        line: finding.location?.line,
        column: finding.location?.column,
      },
      { file: 'policies/other.rego', line: 1, column: 1 },
    );
    assert.equal(finding.details['package'], 'other.authz');
  });

  it('rejects a caracal.authz package without the result entrypoint', async () => {
    const base = await baseline();
    const response = await client.validate({
      source: {
        ...base,
        modules: [
          {
            path: 'policies/authz.rego',
            source: 'package caracal.authz\n\nimport rego.v1\n\ndecision := "allow"\n',
          },
        ],
        tests: [],
      },
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'missing_entrypoint');
    assert.equal(finding.location?.file, 'policies/authz.rego');
    assert.equal(finding.details['entrypoint'], 'data.caracal.authz.result');
  });

  it('rejects http.send as a blocked builtin, naming it and where it is used', async () => {
    const source = [
      'package caracal.authz.remote',
      '',
      'import rego.v1',
      '',
      'lookup := http.send({"method": "GET", "url": "https://example.com"})',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/remote.rego', source),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'blocked_builtin');
    assert.equal(finding.details['builtin'], 'http.send');
    assert.deepEqual(
      { line: finding.location?.line, column: finding.location?.column },
      positionOf(source, 'http.send'),
    );
    assert.equal(finding.location?.file, 'policies/remote.rego');
    assert.match(finding.message, /http\.send is blocked/);
  });

  it('rejects a builtin the opa-wasm SDK does not implement (hex.encode)', async () => {
    const source = [
      'package caracal.authz.encoding',
      '',
      'import rego.v1',
      '',
      'fingerprint := hex.encode(input.principal.id)',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/encoding.rego', source),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'wasm_unsupported_builtin');
    assert.equal(finding.details['builtin'], 'hex.encode');
    assert.deepEqual(
      { line: finding.location?.line, column: finding.location?.column },
      positionOf(source, 'hex.encode'),
    );
    assert.match(finding.message, /opa-wasm/);
  });

  it('rejects a resource identifier and a scope that are not in the catalog', async () => {
    const source = [
      'package caracal.authz.billing',
      '',
      'import rego.v1',
      '',
      'billing if input.resource.identifier == "resource://billing"',
      '',
      'deleting if "delete" in input.context.requested_scopes',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/billing.rego', source),
    });
    assert.equal(response.valid, false);
    const resource = only(response.findings, 'unknown_resource');
    assert.equal(resource.details['resource'], 'resource://billing');
    assert.deepEqual(
      { line: resource.location?.line, column: resource.location?.column },
      positionOf(source, '"resource://billing"'),
    );
    const scope = only(response.findings, 'unknown_scope');
    assert.equal(scope.details['scope'], 'delete');
    assert.deepEqual(
      { line: scope.location?.line, column: scope.location?.column },
      positionOf(source, '"delete"'),
    );
  });

  it('rejects grants naming an unknown resource or a scope the resource does not have', async () => {
    const base = await baseline();
    const grants = JSON.stringify(
      {
        grants: [
          { resource: 'resource://api', scopes: ['read'] },
          { resource: 'resource://ghost', scopes: ['read'] },
          { resource: 'resource://api', scopes: ['admin'] },
        ],
      },
      null,
      2,
    );
    const response = await client.validate({
      source: {
        ...base,
        data: [{ path: 'caracal/data.json', json: new TextEncoder().encode(grants) }],
      },
    });
    assert.equal(response.valid, false);
    const invalid = only(response.findings, 'invalid_grant');
    assert.equal(invalid.details['resource'], 'resource://ghost');
    assert.equal(invalid.details['pointer'], '/grants/1');
    assert.deepEqual(
      { file: invalid.location?.file, line: invalid.location?.line },
      { file: 'caracal/data.json', line: positionOf(grants, 'resource://ghost').line },
    );
    const scope = only(response.findings, 'unknown_scope');
    assert.equal(scope.details['scope'], 'admin');
    assert.equal(scope.details['pointer'], '/grants/2/scopes/0');
    // The ghost resource is reported once, as the grant's problem.
    assert.equal(response.findings.filter((f) => f.code === 'unknown_resource').length, 0);
  });

  it('fails a pack test whose decision differs, with expected and actual', async () => {
    const base = await baseline();
    const tests = base.tests.map((test) =>
      test.name === 'denies write' ? { ...test, expectedDecision: Decision.ALLOW } : test,
    );
    const response = await client.validate({ source: { ...base, tests } });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'pack_test_failed');
    assert.equal(finding.details['test'], 'denies write');
    assert.equal(finding.details['expected'], 'allow');
    assert.equal(finding.details['actual'], 'deny');
    const result = response.tests.find((test) => test.name === 'denies write');
    assert.equal(result?.kind, 'pack');
    assert.equal(result?.passed, false);
    assert.equal(result?.expected, Decision.ALLOW);
    assert.equal(result?.actual, Decision.DENY);
  });

  it('rejects a pack test input that is not a Caracal policy input, naming the field', async () => {
    const base = await baseline();
    const response = await client.validate({
      source: {
        ...base,
        tests: [
          {
            name: 'no action',
            inputJson: encode({ schema_version: '2026-05-20' }),
            expectedDecision: Decision.DENY,
          },
        ],
      },
    });
    assert.equal(response.valid, false);
    const paths = response.findings
      .filter((f) => f.code === 'pack_test_input_invalid')
      .map((f) => f.details['path']);
    assert.ok(paths.includes('/action'), JSON.stringify(paths));
  });

  it('rejects a result that breaks the result schema, naming the test and the schema path', async () => {
    const source = 'package caracal.authz\n\nimport rego.v1\n\nresult := {"decision": "permit"}\n';
    const base = await baseline();
    const response = await client.validate({
      source: { ...base, modules: [{ path: 'policies/authz.rego', source }], data: [] },
    });
    assert.equal(response.valid, false);
    const schemaPaths = response.findings
      .filter(
        (f) => f.code === 'result_schema_invalid' && f.details['test'] === 'allows scoped read',
      )
      .map((f) => f.details['schema_path']);
    assert.ok(schemaPaths.includes('#/properties/decision/enum'), JSON.stringify(schemaPaths));
    assert.ok(schemaPaths.includes('#/required'));
  });

  it('fails a failing _test.rego test with its location', async () => {
    const source = [
      'package caracal.authz_more_test',
      '',
      'import rego.v1',
      '',
      'import data.caracal.authz',
      '',
      'test_allows_everything if {',
      '\tauthz.result.decision == "allow" with input as {}',
      '}',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/more_test.rego', source),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'rego_test_failed');
    assert.equal(finding.details['test'], 'caracal.authz_more_test.test_allows_everything');
    assert.deepEqual(
      { file: finding.location?.file, line: finding.location?.line },
      { file: 'policies/more_test.rego', line: 7 },
    );
    const result = response.tests.find((test) => test.name.endsWith('test_allows_everything'));
    assert.deepEqual([result?.kind, result?.passed], ['rego', false]);
  });

  it('attributes a Rego test that errors at evaluation time to that test', async () => {
    const source = [
      'package caracal.authz_conflict_test',
      '',
      'import rego.v1',
      '',
      'level := 1 if input.a',
      '',
      'level := 2 if input.a',
      '',
      'test_passes if true',
      '',
      'test_conflicts if {',
      '\tlevel == 1 with input as {"a": true}',
      '}',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/conflict_test.rego', source),
    });
    assert.equal(response.valid, false);
    const finding = only(response.findings, 'rego_test_failed');
    assert.equal(finding.details['test'], 'caracal.authz_conflict_test.test_conflicts');
    assert.equal(finding.location?.line, 11);
    assert.match(finding.message, /errored: .*conflict/);
    const passing = response.tests.find((test) => test.name.endsWith('test_passes'));
    assert.equal(passing?.passed, true);
  });

  it('warns about non-canonical terms without invalidating the version', async () => {
    const source = [
      'package caracal.authz.legacy',
      '',
      'import rego.v1',
      '',
      '# session_id in a comment is fine, and so is reading the wire key:',
      'whitelist := {"app-1"}',
      '',
      'record := input.context.session_id',
      '',
    ].join('\n');
    const response = await client.validate({
      source: await withModule('policies/legacy.rego', source),
    });
    assert.equal(response.valid, true, JSON.stringify(response.findings.map((f) => f.message)));
    const finding = only(response.findings, 'non_canonical_term');
    assert.equal(finding.severity, Severity.WARNING);
    assert.deepEqual(finding.details, { term: 'whitelist', canonical: 'allowlist' });
    assert.deepEqual(
      { line: finding.location?.line, column: finding.location?.column },
      { line: 6, column: 1 },
    );
  });

  it('rejects a module path that escapes the bundle, naming the field', async () => {
    await assert.rejects(
      client.validate({ source: await withModule('../escape.rego', 'package caracal.authz.x\n') }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.violations[0]?.field, 'source.modules[2].path');
        return true;
      },
    );
  });

  it('builds a signed bundle that verifies, carries the revision and decides like the pack tests', async () => {
    const revision = createHash('sha256').update('manifest-1').digest('hex');
    const response = await client.buildBundle({ source: await baseline(), revision });
    assert.equal(response.validation?.valid, true);
    assert.equal(response.signingKeyId, 'e2e-key');
    assert.equal(response.signingAlgorithm, 'ES256');
    assert.equal(response.bundleSha256, createHash('sha256').update(response.bundle).digest('hex'));

    // The key was generated for development, readable by its owner only.
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const publicPem = createPublicKey(await readFile(keyFile, 'utf8'))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const verified = verifyBundleSignature(response.bundle, publicPem, { keyId: 'e2e-key' });
    assert.equal(verified.manifest.revision, revision);

    const bundle = readBundle(response.bundle);
    assert.ok(![...bundle.files.keys()].some((path) => path.endsWith('_test.rego')));
    const policy = await loadWasmPolicy(bundle.wasm, bundle.data);
    const stsInput = await contractFixture('policy-input.sts.valid.json');
    const result = policy.evaluate(stsInput, 'caracal/authz/result');
    assert.deepEqual(result, await contractFixture('policy-result.allow.valid.json'));
    assert.equal(validatePolicyResult(result).valid, true);
    const write = structuredClone(stsInput);
    (write['context'] as { requested_scopes: string[] }).requested_scopes = ['write'];
    assert.equal((policy.evaluate(write) as { decision: string }).decision, 'deny');
  });

  it('builds no bundle from an invalid version but still reports why', async () => {
    const response = await client.buildBundle({
      source: await withModule('policies/other.rego', 'package other\n\nx := 1\n'),
      revision: 'rev-invalid',
    });
    assert.equal(response.validation?.valid, false);
    assert.equal(response.bundle.length, 0);
    assert.equal(response.bundleSha256, '');
    assert.ok(response.validation?.findings.some((f) => f.code === 'wrong_package'));
  });
});

describe('ValidationService without a working opa', () => {
  it('fails Validate with UNAVAILABLE naming the binary, never a partial report', async () => {
    const missing = '/nonexistent/opa';
    const config = loadValidatorConfig({
      CARACAL_VALIDATOR_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_OPA_BIN: missing,
    });
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: false,
    });
    const client = createGrpcClient(ValidationService, `127.0.0.1:${app.get(GrpcServerHost).port}`);
    try {
      await assert.rejects(client.validate({ source: await baseline() }), (error: unknown) => {
        assert.ok(error instanceof UnavailableError, String(error));
        assert.match(error.message, /\/nonexistent\/opa/);
        return true;
      });
    } finally {
      client.close();
      await app.close();
    }
  });
});
