// Validate + build + sign, against the bare compile it wraps.
//
//   npm run bench:validate          (builds first; or: node tools/bench/validate-bench.mjs [--runs N])
//
// Generates a policy set of 50 modules (49 team modules under
// `package caracal.authz.<team>`, each a few rules over input and data, plus the
// `caracal.authz` module whose `result` combines them), one `_test.rego` module,
// grants for 49 resources, pack tests and the catalog. Then, alternating, runs
//   ours: ValidationPipeline.buildBundle (the BuildBundle RPC minus gRPC: opa check
//         --strict with restricted capabilities, opa test, opa build -t wasm signed,
//         static checks, pack tests on the built wasm), in process from dist/;
//   opa:  a bare `opa build -t wasm -e caracal/authz/result` of the same files;
// N times each (default 9, at least 7), and prints as its last line
//   validate_build_ms=<median> opa_build_ms=<median> ratio=<ours/opa>
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const run = promisify(execFile);
const workspace = new URL('../..', import.meta.url).pathname;
const runsFlag = process.argv.indexOf('--runs');
const runs = Math.max(7, runsFlag === -1 ? 9 : Number(process.argv[runsFlag + 1]));
const opaBin = process.env.CARACAL_OPA_BIN || join(workspace, '.local/bin/opa');

const { ValidationPipeline } = await import(
  join(workspace, 'apps/policy-validator/dist/validation/validation-pipeline.js')
);

const teams = Array.from({ length: 49 }, (_, i) => `team${String(i + 1).padStart(2, '0')}`);

function teamModule(team) {
  return `package caracal.authz.${team}

import rego.v1

resource := "resource://${team}-api"

applies if input.resource.identifier == resource

grant := [g | some g in data.caracal.grants; g.resource == resource]

granted contains scope if {
	some g in grant
	some scope in g.scopes
}

scopes_granted if {
	applies
	count(input.context.requested_scopes) > 0
	every scope in input.context.requested_scopes {
		scope in granted
	}
}

member if {
	some label in input.principal.labels
	startswith(label, "${team}.")
}

within_limits if {
	limit := object.get(data.caracal.limits, "${team}", data.caracal.limits.default)
	count(input.context.requested_scopes) <= limit.max_scopes
}

allow if {
	scopes_granted
	member
	within_limits
}

reasons contains sprintf("${team}: scopes %v not granted", [input.context.requested_scopes]) if {
	applies
	not scopes_granted
}

reasons contains "${team}: principal is not a member" if {
	applies
	not member
}
`;
}

const rootModule = `package caracal.authz

import rego.v1

allowing contains name if {
${teams.map((team) => `	some name in ["${team}"]\n\tdata.caracal.authz.${team}.allow`).join('\n} \n\nallowing contains name if {\n')}
}

denial_reasons contains reason if {
${teams.map((team) => `	some reason in data.caracal.authz.${team}.reasons`).join('\n}\n\ndenial_reasons contains reason if {\n')}
}

default result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [],
	"diagnostics": [{"code": "no_policy_applies", "message": "No team policy allows the request."}],
}

result := {
	"decision": "allow",
	"evaluation_status": "complete",
	"determining_policies": [{"id": name, "version": "bench"} | some name in allowing],
	"diagnostics": [{"code": "scope_allowed", "message": "Requested scopes are within the resource grant."}],
} if {
	count(allowing) > 0
}

result := {
	"decision": "deny",
	"evaluation_status": "complete",
	"determining_policies": [],
	"diagnostics": [{"code": "denied", "message": reason} | some reason in denial_reasons],
} if {
	count(allowing) == 0
	count(denial_reasons) > 0
}
`;

const testModule = `package caracal.authz_test

import rego.v1

import data.caracal.authz

request(team, scopes, labels) := {
	"resource": {"identifier": sprintf("resource://%s-api", [team]), "scopes": ["read", "write"]},
	"context": {"requested_scopes": scopes},
	"principal": {"labels": labels},
}

test_team01_reads if {
	authz.result.decision == "allow" with input as request("team01", ["read"], ["team01.dev"])
}

test_outsider_denied if {
	authz.result.decision == "deny" with input as request("team01", ["read"], ["team02.dev"])
}
`;

const data = {
  grants: teams.map((team, i) => ({
    resource: `resource://${team}-api`,
    scopes: i % 3 === 0 ? ['read', 'write'] : ['read'],
    note: `grant of ${team}`,
  })),
  limits: {
    default: { max_scopes: 2 },
    ...Object.fromEntries(teams.slice(0, 10).map((team) => [team, { max_scopes: 1 }])),
  },
};

const stsInput = JSON.parse(
  await readFile(
    join(workspace, '../shared/contracts/caracal/fixtures/policy-input.sts.valid.json'),
    'utf8',
  ),
);
function input(team, scopes, labels) {
  const value = JSON.parse(JSON.stringify(stsInput));
  value.resource.identifier = `resource://${team}-api`;
  value.context.requested_scopes = scopes;
  value.principal.labels = labels;
  return JSON.stringify(value);
}

const modules = [
  { path: 'policies/authz.rego', source: rootModule },
  ...teams.map((team) => ({ path: `policies/teams/${team}.rego`, source: teamModule(team) })),
  { path: 'policies/authz_test.rego', source: testModule },
];
const source = {
  zoneId: 'bench',
  modules,
  data: [{ path: 'caracal/data.json', json: JSON.stringify(data, null, 2) }],
  tests: [
    {
      name: 'team01 reads',
      inputJson: input('team01', ['read'], ['team01.dev']),
      expectedDecision: 'allow',
    },
    {
      name: 'team02 cannot write',
      inputJson: input('team02', ['write'], ['team02.dev']),
      expectedDecision: 'deny',
    },
    {
      name: 'outsider denied',
      inputJson: input('team03', ['read'], ['team09.dev']),
      expectedDecision: 'deny',
    },
    {
      name: 'team04 writes',
      inputJson: input('team04', ['write'], ['team04.ops']),
      expectedDecision: 'allow',
    },
  ],
  catalog: teams.map((team) => ({
    identifier: `resource://${team}-api`,
    id: `${team}-id`,
    scopes: ['read', 'write'],
  })),
};

const scratch = await mkdtemp(join(tmpdir(), 'caracal-bench-'));
const pipeline = new ValidationPipeline({
  opaBin,
  signing: { keyFile: join(scratch, 'key.pem'), keyId: 'bench', autogenerate: true },
  deprecatedTerms: new Map([['whitelist', 'allowlist']]),
});

// The same files on disk once, for the bare build.
const bareDir = join(scratch, 'bare');
for (const file of [
  ...modules.map((m) => [m.path, m.source]),
  ['caracal/data.json', source.data[0].json],
]) {
  await mkdir(dirname(join(bareDir, file[0])), { recursive: true });
  await writeFile(join(bareDir, file[0]), file[1]);
}

async function ours() {
  const started = performance.now();
  const built = await pipeline.buildBundle(source, 'bench-revision');
  const elapsed = performance.now() - started;
  if (!built.validation.valid || built.bundle === undefined) {
    throw new Error(
      `bench policy set is not valid: ${JSON.stringify(built.validation.findings, null, 1)}`,
    );
  }
  return elapsed;
}

async function bare() {
  const started = performance.now();
  await run(
    opaBin,
    [
      'build',
      '-b',
      '-t',
      'wasm',
      '-e',
      'caracal/authz/result',
      '--ignore',
      '*_test.rego',
      '-o',
      join(scratch, 'bare.tar.gz'),
      '.',
    ],
    { cwd: bareDir },
  );
  return performance.now() - started;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

try {
  // Warm-up (not measured): caches the OPA capabilities, the key, the page cache.
  await ours();
  await bare();
  const oursMs = [];
  const opaMs = [];
  for (let i = 0; i < runs; i += 1) {
    oursMs.push(await ours());
    opaMs.push(await bare());
  }
  console.log(
    `runs=${runs} modules=${modules.length} (incl. 1 _test.rego) data_bytes=${source.data[0].json.length} pack_tests=${source.tests.length}`,
  );
  console.log(`ours ms: ${oursMs.map((ms) => ms.toFixed(0)).join(' ')}`);
  console.log(`opa  ms: ${opaMs.map((ms) => ms.toFixed(0)).join(' ')}`);
  const a = median(oursMs);
  const b = median(opaMs);
  console.log(
    `validate_build_ms=${a.toFixed(0)} opa_build_ms=${b.toFixed(0)} ratio=${(a / b).toFixed(2)}`,
  );
} finally {
  await pipeline.close();
  await rm(scratch, { recursive: true, force: true });
}
