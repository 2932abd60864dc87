// The stack's smoke scenario, the way a platform team would drive it: through
// the Admin API, push the baseline policy pack (validated by policy-validator
// with the real OPA), make a policy-set version of it, build its signed bundle,
// download the bundle by sha256 and check it (sha, signature, revision), then
// evaluate the pack's cases on it and simulate them through the validator.
// Prints a timeline; exits non-zero on any surprise.
//
//   node tools/dev/demo-policy.mjs <admin-api-url> <validator-grpc-address>
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Decision, SimulationService } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import { loadWasmPolicy, readBundle, verifyBundleSignature } from '@caracal-deploy/opa';

const adminUrl = process.argv[2] ?? 'http://127.0.0.1:8470';
const validatorAddress = process.argv[3] ?? '127.0.0.1:50061';
const root = new URL('../../', import.meta.url);
const pack = new URL('apps/policy-validator/fixtures/baseline-pack/', root);
const started = performance.now();
const step = (message) =>
  console.log(`  [${String(Math.round(performance.now() - started)).padStart(5)} ms] ${message}`);

/** A Caracal policy input (caracal-policy-input-2026-05-20) requesting `scopes` on resource://api. */
const input = (scopes) => ({
  schema_version: '2026-05-20',
  principal: { type: 'Application', id: 'app-1', zone_id: 'demo' },
  resource: {
    type: 'http',
    id: 'resource-1',
    identifier: 'resource://api',
    scopes: ['read', 'write'],
  },
  action: { id: scopes[0] ?? 'read' },
  context: {
    actor_claims: { caracal_client_id: 'app-1' },
    challenge_resolved: false,
    requested_scopes: scopes,
  },
});

// Bootstrap: an admin token from the documented command (only its hash is stored).
const token = execFileSync(
  process.execPath,
  [
    new URL('apps/admin-api/dist/cli.js', root).pathname,
    'create-token',
    '--role',
    'admin',
    '--name',
    `stack-demo-${Date.now()}`,
  ],
  { encoding: 'utf8', env: process.env },
)
  .trim()
  .split('\n')
  .at(-1);

/** Calls the Admin API; `tolerate` lists statuses that are fine (409: it exists from an earlier run). */
async function api(method, path, body, tolerate = []) {
  const response = await fetch(`${adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok && !tolerate.includes(response.status)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  }
  return {
    status: response.status,
    body: response.headers.get('content-type')?.includes('json')
      ? await response.json()
      : await response.arrayBuffer(),
  };
}

const simulation = createGrpcClient(SimulationService, validatorAddress, {
  defaultTimeoutMs: 60_000,
});
try {
  console.log(
    `policy pack apps/policy-validator/fixtures/baseline-pack through the Admin API at ${adminUrl}:`,
  );
  await api('POST', '/v1/zones', { name: 'demo', description: 'local stack demo' }, [409]);
  await api(
    'POST',
    '/v1/zones/demo/resources',
    {
      identifier: 'resource://api',
      id: 'resource-1',
      type: 'http',
      scopes: ['read', 'write'],
      operations: ['GET', 'POST'],
    },
    [409],
  );
  await api('POST', '/v1/zones/demo/policies', { name: 'baseline' }, [409]);
  await api('POST', '/v1/zones/demo/policy-sets', { name: 'main' }, [409]);
  step('zone demo with resource://api (read, write), policy baseline, policy set main');

  const tests = [
    {
      name: 'allows a granted read',
      file: 'tests/read.json',
      input: input(['read']),
      expected: 'allow',
    },
    {
      name: 'denies an ungranted write',
      file: 'tests/write.json',
      input: input(['write']),
      expected: 'deny',
    },
  ];
  const version = await api('POST', '/v1/zones/demo/policies/baseline/versions:pack', {
    manifest: {
      schema_version: '2026-05-21',
      id: 'baseline-resource-scope',
      name: 'Baseline resource scope policy',
      version: '1.0.0',
      policy_input_schema_version: '2026-05-20',
      entrypoint: 'data.caracal.authz.result',
      rego_modules: ['policies/baseline.rego', 'policies/baseline_test.rego'],
      parameters_schema: { type: 'object' },
      tests: tests.map((t) => ({
        name: t.name,
        input_fixture: t.file,
        expected_decision: t.expected,
      })),
      compatibility: { caracal_min_version: '0.1.2' },
      signing: { required: true, algorithm: 'none' },
    },
    files: {
      'policies/baseline.rego': await readFile(new URL('policies/baseline.rego', pack), 'utf8'),
      'policies/baseline_test.rego': await readFile(
        new URL('policies/baseline_test.rego', pack),
        'utf8',
      ),
      'caracal/data.json': await readFile(new URL('caracal/data.json', pack), 'utf8'),
      ...Object.fromEntries(tests.map((t) => [t.file, JSON.stringify(t.input)])),
    },
  });
  const verdict = version.body.verdict;
  step(
    `policy version ${version.body.id.slice(0, 8)}… (${version.status === 201 ? 'new' : 'identical content, existing version'}), content sha256 ${version.body.content_sha256.slice(0, 12)}…, valid=${verdict?.valid}, ${verdict?.tests?.length ?? 0} tests`,
  );

  const setVersion = await api('POST', '/v1/zones/demo/policy-sets/main/versions', {
    policy_version_ids: [version.body.id],
  });
  const manifestSha = setVersion.body.manifest_sha256;
  step(
    `policy-set version ${setVersion.body.id.slice(0, 8)}…, manifest sha256 ${manifestSha.slice(0, 12)}…, valid=${setVersion.body.verdict?.valid}`,
  );

  const bundle = await api(
    'POST',
    `/v1/zones/demo/policy-sets/main/versions/${setVersion.body.id}/bundle`,
    undefined,
  );
  step(
    `bundle built and signed: sha256 ${bundle.body.sha256.slice(0, 12)}…, ${bundle.body.size_bytes} bytes, ${bundle.body.signing_algorithm} key ${bundle.body.signing_key_id}`,
  );

  const download = await api('GET', `/v1/bundles/${bundle.body.sha256}`);
  const bytes = new Uint8Array(download.body);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const publicKey = createPublicKey(
    await readFile(new URL('.local/keys/bundle-signing-es256.pem', root)),
  )
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const verified = verifyBundleSignature(bytes, publicKey, { keyId: bundle.body.signing_key_id });
  if (sha !== bundle.body.sha256) throw new Error(`downloaded bundle hashes to ${sha}`);
  if (verified.manifest.revision !== manifestSha)
    throw new Error(`bundle revision ${verified.manifest.revision} is not the manifest sha`);
  step(
    `downloaded GET /v1/bundles/{sha256}: sha256 matches, signature verifies, .manifest revision = manifest sha`,
  );

  const { wasm, data } = readBundle(bytes);
  const policy = await loadWasmPolicy(wasm, data);
  for (const test of tests) {
    const result = policy.evaluate(test.input, 'caracal/authz/result');
    if (result?.decision !== test.expected)
      throw new Error(`"${test.name}" decided ${result?.decision}`);
    step(
      `policy.wasm in Node: "${test.name}" → ${result.decision} (${result.diagnostics?.[0]?.code})`,
    );
  }

  const simulated = await simulation.simulate({
    zoneId: 'demo',
    candidate: { bundle: bytes, bundleSha256: sha, revision: manifestSha },
    cases: tests.map((t) => ({
      name: t.name,
      inputJson: new TextEncoder().encode(JSON.stringify(t.input)),
      expectedDecision: t.expected === 'allow' ? Decision.ALLOW : Decision.DENY,
    })),
  });
  if (simulated.failed > 0 || simulated.invalid > 0)
    throw new Error('simulation did not match the expected decisions');
  step(
    `simulated on the same bundle bytes through the validator: ${simulated.passed}/${tests.length} as expected`,
  );
  // The next step of the stack (tools/dev/stack.sh) activates this version.
  console.log(`policy-set version id: ${setVersion.body.id}`);
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  simulation.close();
}
