import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { workspaceRoot } from '@caracal-deploy/config';
import {
  createAdminToken,
  createTestDatabase,
  freeAddress,
  infraSettings,
  startControlPlane,
  type RunningService,
  type TestDatabase,
} from '@caracal-deploy/testing';

const root = workspaceRoot(import.meta.url);

/** The real Admin API with the real policy-validator and activation coordinator, on a fresh database. */
export interface AdminStack {
  readonly url: string;
  readonly adminToken: string;
  /** Everything the services wrote, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Boots policy-validator, activation-coordinator and admin-api on ephemeral ports. */
export async function startAdminStack(): Promise<AdminStack> {
  const settings = infraSettings();
  const keyDir = mkdtempSync(join(tmpdir(), 'caracal-cli-e2e-'));
  const services: RunningService[] = [];
  let database: TestDatabase | undefined;
  const stop = async () => {
    for (const service of services.reverse()) await service.process.stop();
    await database?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  };
  try {
    database = await createTestDatabase(settings);
    const { admin } = await startControlPlane(
      settings,
      {
        databaseUrl: database.url,
        keyDir,
        keyId: 'cli-e2e',
        adminEnv: { CARACAL_ROLLBACK_GRPC_ADDRESS: await freeAddress() },
      },
      services,
    );
    const adminToken = await createAdminToken(database.url, 'admin', 'cli-e2e');
    return {
      url: admin.httpUrl,
      adminToken,
      output: () =>
        services
          .map(({ process }) => `--- ${process.name}\n${process.output().slice(-4_000)}`)
          .join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The shared STS policy-input fixture, moved into `zone`. */
export async function stsInput(zone: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  const path = join(
    root,
    '..',
    'shared',
    'contracts',
    'caracal',
    'fixtures',
    'policy-input.sts.valid.json',
  );
  const input = JSON.parse(await readFile(path, 'utf8')) as { principal: { zone_id: string } };
  input.principal.zone_id = zone;
  return input;
}

/** A valid policy: allows reading `resource://api` with scope `read`, denies the rest. */
export function baselineRego(policy: string): string {
  const result = (decision: string, condition: string) => `result := {
	"decision": "${decision}",
	"evaluation_status": "complete",
	"determining_policies": [{"id": "${policy}"}],
	"diagnostics": [],
} if ${condition}
`;
  return `package caracal.authz

import rego.v1

default allow := false

allow if {
	input.resource.identifier == "resource://api"
	"read" in input.context.requested_scopes
}

${result('allow', 'allow')}
${result('deny', 'not allow')}`;
}

/**
 * Writes a policy pack into `dir`: a manifest with one test named `test` that
 * expects `expectedDecision` for the STS fixture input in `zone`, and the
 * {@link baselineRego} policy.
 */
export async function writePack(
  dir: string,
  pack: {
    readonly id: string;
    readonly name: string;
    readonly zone: string;
    readonly test: string;
    readonly expectedDecision: 'allow' | 'deny';
  },
): Promise<void> {
  const manifest = {
    schema_version: '2026-05-21',
    id: pack.id,
    name: pack.name,
    version: '1.0.0',
    policy_input_schema_version: '2026-05-20',
    entrypoint: 'data.caracal.authz.result',
    rego_modules: ['policies/baseline.rego'],
    parameters_schema: { type: 'object' },
    tests: [
      { name: pack.test, input_fixture: 'input.json', expected_decision: pack.expectedDecision },
    ],
    compatibility: { caracal_min_version: '0.1.2' },
    signing: { required: false },
  };
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'policies', 'baseline.rego'), baselineRego('pack'));
  writeFileSync(join(dir, 'input.json'), JSON.stringify(await stsInput(pack.zone)));
}
