import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

import type {
  CreateDeploymentBody,
  CreatePolicyVersionBody,
  SimulatePolicySetVersionBody,
  UploadPolicyPackBody,
} from '@caracal-deploy/sdk';

import { UsageError } from './args.js';

/** What `policy push` uploads: plain modules/data/tests, or a Caracal policy pack. */
export type PolicySource =
  | { readonly kind: 'sources'; readonly body: CreatePolicyVersionBody }
  | { readonly kind: 'pack'; readonly body: UploadPolicyPackBody };

/** The file name that marks a directory as a Caracal policy pack. */
export const packManifestFile = 'manifest.json';

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${what} ${path} is not JSON: ${(error as Error).message}`);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.name.startsWith('.')) return [];
      return entry.isDirectory() ? filesUnder(path) : [path];
    })
    .sort();
}

const posix = (path: string) => path.split(sep).join('/');

/**
 * Reads a policy from disk: a directory with `manifest.json` is a pack (every
 * other file goes in `files`); another directory gives its `*.rego` modules and
 * `*.json` data documents; a `.json` file is a pack `{ manifest, files }`.
 */
export function readPolicySource(path: string): PolicySource {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new UsageError(`policy source ${path} does not exist`);
  }
  if (stat.isFile()) {
    const pack = readJson(path, 'policy pack') as Partial<UploadPolicyPackBody>;
    if (typeof pack.manifest !== 'object' || typeof pack.files !== 'object') {
      throw new UsageError(`policy pack ${path} must be an object with "manifest" and "files"`);
    }
    return { kind: 'pack', body: pack as UploadPolicyPackBody };
  }
  const files = filesUnder(path);
  const manifestPath = join(path, packManifestFile);
  if (files.includes(manifestPath)) {
    const manifest = readJson(manifestPath, 'pack manifest') as UploadPolicyPackBody['manifest'];
    const packFiles = Object.fromEntries(
      files
        .filter((file) => file !== manifestPath)
        .map((file) => [posix(relative(path, file)), readFileSync(file, 'utf8')]),
    );
    return { kind: 'pack', body: { manifest, files: packFiles } };
  }
  const modules = files
    .filter((file) => extname(file) === '.rego')
    .map((file) => ({ path: posix(relative(path, file)), source: readFileSync(file, 'utf8') }));
  if (modules.length === 0) {
    throw new UsageError(`${path} holds no .rego module and no ${packManifestFile}`);
  }
  const data = files
    .filter((file) => extname(file) === '.json')
    .map((file) => ({ path: posix(relative(path, file)), json: readJson(file, 'data document') }));
  return { kind: 'sources', body: { modules, ...(data.length > 0 ? { data } : {}) } };
}

/** The cases of `simulate --cases`: a JSON array, or an object with `cases`. */
export function readCases(path: string): SimulatePolicySetVersionBody['cases'] {
  const value = readJson(path, 'cases file');
  const cases = Array.isArray(value) ? value : (value as { cases?: unknown }).cases;
  if (!Array.isArray(cases) || cases.length === 0) {
    throw new UsageError(
      `cases file ${path}: expected a non-empty array of cases (or { "cases": [...] })`,
    );
  }
  return cases as SimulatePolicySetVersionBody['cases'];
}

/** The parts of a deployment request the `--stages` file holds. */
export type StagesFile = Pick<
  CreateDeploymentBody,
  'stages' | 'zone_versions' | 'accept_no_rollback_zones'
>;

const slug = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Reads and checks a `--stages` file: an array of stages, or an object with
 * `stages` (and optionally `zone_versions`, `accept_no_rollback_zones`). Every
 * problem names its exact field, e.g. `stages[1].regions`.
 */
export function readStages(path: string): StagesFile {
  const value = readJson(path, 'stages file');
  const file = (Array.isArray(value) ? { stages: value } : value) as Record<string, unknown>;
  const problems: string[] = [];
  const fail = (field: string, problem: string) => problems.push(`${field}: ${problem}`);
  if (typeof file !== 'object' || file === null) {
    throw new UsageError(
      `stages file ${path}: expected an array of stages or an object with "stages"`,
    );
  }
  const known = new Set(['stages', 'zone_versions', 'accept_no_rollback_zones']);
  for (const key of Object.keys(file)) if (!known.has(key)) fail(key, 'unknown field');
  const stages = file['stages'];
  if (!Array.isArray(stages) || stages.length === 0) {
    fail('stages', 'expected a non-empty array');
  } else {
    stages.forEach((stage: unknown, i) => {
      const at = `stages[${i}]`;
      if (typeof stage !== 'object' || stage === null || Array.isArray(stage)) {
        fail(at, 'expected an object with name, zones, regions');
        return;
      }
      const s = stage as Record<string, unknown>;
      const stageKeys = new Set(['name', 'zones', 'regions', 'bake_seconds', 'gates']);
      for (const key of Object.keys(s))
        if (!stageKeys.has(key)) fail(`${at}.${key}`, 'unknown field');
      if (typeof s['name'] !== 'string' || !slug.test(s['name'])) {
        fail(
          `${at}.name`,
          `expected a lowercase name like "canary", saw ${JSON.stringify(s['name'])}`,
        );
      }
      for (const list of ['zones', 'regions'] as const) {
        const items = s[list];
        if (!Array.isArray(items) || items.length === 0) {
          fail(
            `${at}.${list}`,
            `expected a non-empty array of names, saw ${JSON.stringify(items)}`,
          );
          continue;
        }
        items.forEach((item: unknown, j) => {
          if (typeof item !== 'string' || !slug.test(item)) {
            fail(`${at}.${list}[${j}]`, `expected a lowercase name, saw ${JSON.stringify(item)}`);
          }
        });
      }
      const bake = s['bake_seconds'];
      if (bake !== undefined && (!Number.isInteger(bake) || (bake as number) < 0)) {
        fail(
          `${at}.bake_seconds`,
          `expected a whole number of seconds ≥ 0, saw ${JSON.stringify(bake)}`,
        );
      }
      const gates = s['gates'];
      if (
        gates !== undefined &&
        (typeof gates !== 'object' || gates === null || Array.isArray(gates))
      ) {
        fail(`${at}.gates`, 'expected an object');
      }
    });
  }
  if (problems.length > 0) {
    throw new UsageError(`stages file ${path} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return file as unknown as StagesFile;
}

/** `1h`, `30m`, `2d` or an ISO instant → the ISO instant it names (relative to `now`). */
export function windowStart(window: string, now: Date = new Date()): string {
  const relativeMatch = /^(\d+)(s|m|h|d)$/.exec(window);
  if (relativeMatch) {
    const unit = { s: 1, m: 60, h: 3_600, d: 86_400 }[relativeMatch[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relativeMatch[1]) * unit * 1_000).toISOString();
  }
  const at = new Date(window);
  if (Number.isNaN(at.getTime())) {
    throw new UsageError(
      `--window: expected a duration like 1h, 30m, 2d or an ISO time, saw "${window}"`,
    );
  }
  return at.toISOString();
}
