import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { workspaceRoot } from '@caracal-deploy/config';
import {
  type CatalogResource,
  CatalogResourceSchema,
  Decision,
  HealthService,
  type PolicySource as ProtoPolicySource,
  PolicySourceSchema,
  SimulationService,
  ValidationService,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import type { SimulatePolicySetVersionBody } from '@caracal-deploy/sdk';

import { UsageError } from './args.js';
import type { PolicySource } from './inputs.js';

/** The gRPC clients of a policy-validator the CLI started for `--local`. */
export interface LocalValidator {
  readonly validation: GrpcClient<typeof ValidationService>;
  readonly simulation: GrpcClient<typeof SimulationService>;
}

/** `--local` could not start or reach its validator. */
export class LocalValidatorError extends Error {
  override readonly name = 'LocalValidatorError';
}

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));
const decision = (value: 'allow' | 'deny' | null | undefined) =>
  value === 'allow' ? Decision.ALLOW : value === 'deny' ? Decision.DENY : Decision.UNSPECIFIED;

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs `work` against the project's own policy-validator (`apps/policy-validator`,
 * the same pipeline and OPA the server uses), started as a child process on an
 * ephemeral loopback port with a throwaway signing key, and stopped afterwards.
 */
export async function withLocalValidator<T>(
  env: Readonly<Record<string, string | undefined>>,
  work: (validator: LocalValidator) => Promise<T>,
): Promise<T> {
  const main =
    env['CARACAL_VALIDATOR_MAIN'] ??
    join(workspaceRoot(import.meta.url), 'apps', 'policy-validator', 'dist', 'main.js');
  const keyDir = mkdtempSync(join(tmpdir(), 'caracal-deploy-local-'));
  const address = `127.0.0.1:${await freeLoopbackPort()}`;
  let output = '';
  const child = spawn(process.execPath, [main], {
    env: {
      ...env,
      CARACAL_VALIDATOR_GRPC_ADDRESS: address,
      CARACAL_VALIDATOR_METRICS_PORT: '0',
      CARACAL_BUNDLE_SIGNING_KEY_FILE: join(keyDir, 'bundle-signing.pem'),
      CARACAL_BUNDLE_SIGNING_KEY_ID: 'caracal-deploy-local',
      CARACAL_BUNDLE_SIGNING_KEY_AUTOGENERATE: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const validation = createGrpcClient(ValidationService, address, { defaultTimeoutMs: 120_000 });
  const simulation = createGrpcClient(SimulationService, address, { defaultTimeoutMs: 120_000 });
  try {
    await waitUntilAnswering(
      address,
      () => child.exitCode !== null,
      () => output,
      main,
    );
    return await work({ validation, simulation });
  } finally {
    validation.close();
    simulation.close();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(keyDir, { recursive: true, force: true });
  }
}

async function waitUntilAnswering(
  address: string,
  hasExited: () => boolean,
  output: () => string,
  main: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (hasExited()) {
      throw new LocalValidatorError(
        `the local policy-validator (${main}) exited during start-up:\n${output()}`,
      );
    }
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 1_000 });
    try {
      await health.check({ components: [] });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      health.close();
    }
  }
  throw new LocalValidatorError(
    `the local policy-validator did not answer within 60 s:\n${output()}`,
  );
}

/** A catalog file (`--catalog`): an array of `{ identifier, id, scopes, operations }`. */
export function readCatalog(path: string | undefined): CatalogResource[] {
  if (path === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--catalog ${path}: ${(error as Error).message}`);
  }
  const items = Array.isArray(value) ? value : (value as { items?: unknown })?.items;
  if (!Array.isArray(items))
    throw new UsageError(`--catalog ${path}: expected an array of resources`);
  return items.map((item: Record<string, unknown>, i) => {
    if (typeof item['identifier'] !== 'string') {
      throw new UsageError(`--catalog ${path}: [${i}].identifier: expected a resource:// string`);
    }
    return create(CatalogResourceSchema, {
      identifier: item['identifier'],
      id: typeof item['id'] === 'string' ? item['id'] : '',
      scopes: Array.isArray(item['scopes']) ? (item['scopes'] as string[]) : [],
      operations: Array.isArray(item['operations']) ? (item['operations'] as string[]) : [],
    });
  });
}

/**
 * The validator's `PolicySource` of a policy read from disk. A pack is resolved
 * as the Admin API resolves it: `rego_modules` are the modules, each test's
 * `input_fixture` its input, `data.json` files the data documents.
 */
export function protoSource(
  source: PolicySource,
  zone: string,
  catalog: CatalogResource[],
): ProtoPolicySource {
  if (source.kind === 'sources') {
    return create(PolicySourceSchema, {
      zoneId: zone,
      modules: source.body.modules,
      data: (source.body.data ?? []).map((d) => ({ path: d.path, json: json(d.json) })),
      tests: (source.body.tests ?? []).map((t) => ({
        name: t.name,
        inputJson: json(t.input),
        expectedDecision: decision(t.expected_decision),
      })),
      catalog,
    });
  }
  const { manifest, files } = source.body;
  const file = (path: string, field: string): string => {
    const text = Object.hasOwn(files, path) ? files[path] : undefined;
    if (text === undefined)
      throw new UsageError(`pack: ${field} names "${path}", which is not in the pack`);
    return text;
  };
  return create(PolicySourceSchema, {
    zoneId: zone,
    modules: manifest.rego_modules.map((path, i) => ({
      path,
      source: file(path, `manifest.rego_modules[${i}]`),
    })),
    data: Object.keys(files)
      .filter((path) => path === 'data.json' || path.endsWith('/data.json'))
      .map((path) => ({ path, json: encoder.encode(files[path]) })),
    tests: manifest.tests.map((test, i) => ({
      name: test.name,
      inputJson: encoder.encode(file(test.input_fixture, `manifest.tests[${i}].input_fixture`)),
      expectedDecision: decision(test.expected_decision),
    })),
    catalog,
  });
}

/** The simulation cases of a cases file, as the validator takes them. */
export function protoCases(cases: SimulatePolicySetVersionBody['cases']) {
  return cases.map((c, i) => {
    const item = c as { name?: unknown; input?: unknown; expected_decision?: unknown };
    if (typeof item.name !== 'string') throw new UsageError(`cases[${i}].name: expected a string`);
    if (typeof item.input !== 'object' || item.input === null) {
      throw new UsageError(`cases[${i}].input: expected a policy input object`);
    }
    if (item.expected_decision !== 'allow' && item.expected_decision !== 'deny') {
      throw new UsageError(`cases[${i}].expected_decision: expected "allow" or "deny"`);
    }
    return {
      name: item.name,
      inputJson: json(item.input),
      expectedDecision: decision(item.expected_decision),
    };
  });
}

/** A revision for a local bundle: the sha256 of what it was built from. */
export function localRevision(source: ProtoPolicySource): string {
  return createHash('sha256')
    .update(
      JSON.stringify(source, (_key, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
      ),
    )
    .digest('hex');
}
