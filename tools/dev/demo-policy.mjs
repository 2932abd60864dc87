// The stack's smoke scenario: validate the baseline policy pack, build its
// signed bundle, and simulate allow and deny cases on it, over gRPC against the
// running policy-validator, printing a timeline. Exits non-zero on any surprise.
//
//   node tools/dev/demo-policy.mjs <validator-grpc-address>
import { readFile } from 'node:fs/promises';
import { Decision, SimulationService, ValidationService } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';

const address = process.argv[2] ?? '127.0.0.1:50061';
const pack = new URL('../../apps/policy-validator/fixtures/baseline-pack/', import.meta.url);
const encode = (value) => new TextEncoder().encode(JSON.stringify(value));
const started = performance.now();
const step = (message) =>
  console.log(`  [${String(Math.round(performance.now() - started)).padStart(5)} ms] ${message}`);

/** A Caracal policy input (caracal-policy-input-2026-05-20) requesting `scopes` on resource://api. */
const input = (scopes) => ({
  schema_version: '2026-05-20',
  principal: { type: 'Application', id: 'app-1', zone_id: 'zone-demo' },
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

const catalog = [
  { identifier: 'resource://api', id: 'resource-1', scopes: ['read', 'write'], operations: [] },
];
const source = {
  zoneId: 'zone-demo',
  modules: [
    {
      path: 'policies/baseline.rego',
      source: await readFile(new URL('policies/baseline.rego', pack), 'utf8'),
    },
    {
      path: 'policies/baseline_test.rego',
      source: await readFile(new URL('policies/baseline_test.rego', pack), 'utf8'),
    },
  ],
  data: [{ path: 'caracal/data.json', json: await readFile(new URL('caracal/data.json', pack)) }],
  tests: [
    {
      name: 'allows a granted read',
      inputJson: encode(input(['read'])),
      expectedDecision: Decision.ALLOW,
    },
    {
      name: 'denies an ungranted write',
      inputJson: encode(input(['write'])),
      expectedDecision: Decision.DENY,
    },
  ],
  catalog,
};

const validation = createGrpcClient(ValidationService, address, { defaultTimeoutMs: 60_000 });
const simulation = createGrpcClient(SimulationService, address, { defaultTimeoutMs: 60_000 });
try {
  console.log('policy pack apps/policy-validator/fixtures/baseline-pack:');
  const validated = await validation.validate({ source });
  const errors = validated.findings.filter((f) => f.severity === 1);
  step(
    `validated with OPA ${validated.opaVersion}: valid=${validated.valid}, ${validated.tests.length} tests passed=${validated.tests.filter((t) => t.passed).length}, findings=${validated.findings.length}`,
  );
  if (!validated.valid)
    throw new Error(`validation failed: ${errors.map((f) => f.message).join('; ')}`);

  const revision = 'd'.repeat(64);
  const built = await validation.buildBundle({ source, revision });
  step(
    `built and signed the wasm bundle: sha256 ${built.bundleSha256.slice(0, 16)}…, ${built.bundle.byteLength} bytes, ${built.signingAlgorithm} key ${built.signingKeyId}`,
  );

  const simulated = await simulation.simulate({
    zoneId: 'zone-demo',
    candidate: { bundle: built.bundle, bundleSha256: built.bundleSha256, revision },
    catalog,
    cases: source.tests.map(({ name, inputJson, expectedDecision }) => ({
      name,
      inputJson,
      expectedDecision,
    })),
  });
  for (const result of simulated.results) {
    step(
      `simulated "${result.name}": ${result.candidate?.decision === Decision.ALLOW ? 'allow' : 'deny'} (${result.passed ? 'as expected' : 'UNEXPECTED'})`,
    );
  }
  if (simulated.failed > 0 || simulated.invalid > 0)
    throw new Error('simulation did not match the expected decisions');
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  validation.close();
  simulation.close();
}
