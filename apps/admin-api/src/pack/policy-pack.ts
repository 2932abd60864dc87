import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import type { PolicyVersionContent } from '../database/registry.schema.js';
import type { PackManifest } from './pack-manifest.schema.js';

/** The content of a policy version made from a pack, plus the manifest facts kept with it. */
export interface PackContent extends PolicyVersionContent {
  readonly pack: {
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly entrypoint: string;
    readonly compatibility: PackManifest['compatibility'];
    readonly signing: PackManifest['signing'];
  };
}

function isDataDocument(path: string): boolean {
  return path === 'data.json' || path.endsWith('/data.json');
}

/**
 * Resolves a pack's manifest against its files: every `rego_modules` entry and
 * every test's `input_fixture` must name a file (a missing one is a 400 naming
 * it), fixtures must be JSON objects, `data.json` files become data documents,
 * and a file nothing refers to is refused rather than silently dropped.
 */
export function packContent(
  manifest: PackManifest,
  files: Readonly<Record<string, string>>,
): PackContent {
  const violations: FieldViolation[] = [];
  const used = new Set<string>();
  const fileField = (path: string) => `files[${JSON.stringify(path)}]`;

  const modules = manifest.rego_modules.flatMap((path, index) => {
    const source = files[path];
    if (source === undefined || !Object.hasOwn(files, path)) {
      violations.push({
        field: fileField(path),
        problem: `missing: manifest.rego_modules[${index}] names it`,
      });
      return [];
    }
    if (!path.endsWith('.rego')) {
      violations.push({
        field: `manifest.rego_modules[${index}]`,
        problem: 'expected a .rego path',
      });
    }
    used.add(path);
    return [{ path, source }];
  });

  const tests = manifest.tests.flatMap((test, index) => {
    const text = Object.hasOwn(files, test.input_fixture) ? files[test.input_fixture] : undefined;
    if (text === undefined) {
      violations.push({
        field: fileField(test.input_fixture),
        problem: `missing: manifest.tests[${index}].input_fixture names it`,
      });
      return [];
    }
    used.add(test.input_fixture);
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (error) {
      violations.push({
        field: fileField(test.input_fixture),
        problem: `not JSON: ${(error as Error).message}`,
      });
      return [];
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      violations.push({ field: fileField(test.input_fixture), problem: 'expected a JSON object' });
      return [];
    }
    return [{ name: test.name, input, expected_decision: test.expected_decision }];
  });

  const data = Object.keys(files)
    .filter((path) => !used.has(path) && isDataDocument(path))
    .sort()
    .flatMap((path) => {
      used.add(path);
      try {
        return [{ path, json: JSON.parse(files[path] ?? '') as unknown }];
      } catch (error) {
        violations.push({
          field: fileField(path),
          problem: `not JSON: ${(error as Error).message}`,
        });
        return [];
      }
    });

  for (const path of Object.keys(files)) {
    if (!used.has(path)) {
      violations.push({
        field: fileField(path),
        problem: 'not referenced by the manifest (nor a data.json document)',
      });
    }
  }

  if (violations.length > 0) {
    const [first] = violations;
    throw new InvalidArgumentError(`invalid policy pack: ${first?.field}: ${first?.problem}`, {
      violations,
    });
  }
  return {
    modules: [...modules].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    data,
    tests,
    pack: {
      id: manifest.id,
      name: manifest.name,
      version: manifest.version,
      entrypoint: manifest.entrypoint,
      compatibility: manifest.compatibility,
      signing: manifest.signing,
    },
  };
}
