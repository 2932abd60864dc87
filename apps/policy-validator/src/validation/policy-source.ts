import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import { scanRego } from './rego-lexer.js';
import {
  error,
  type PackCase,
  type PolicyData,
  type PolicyModule,
  type PolicySourceSet,
  type ValidationFinding,
} from './validation-model.js';

/** A policy-set version as a caller sends it (the shape of the proto's PolicySource). */
export interface PolicySourceInput {
  readonly zoneId?: string;
  readonly modules: readonly { readonly path: string; readonly source: string }[];
  readonly data: readonly { readonly path: string; readonly json: Uint8Array | string }[];
  readonly tests: readonly {
    readonly name: string;
    readonly inputJson: Uint8Array | string;
    /** `undefined` when the caller left it unspecified. */
    readonly expectedDecision: 'allow' | 'deny' | undefined;
  }[];
  readonly catalog: readonly {
    readonly identifier: string;
    readonly id: string;
    readonly scopes: readonly string[];
  }[];
}

// Bundle paths: relative, `/`-separated, plain segments (no `.`/`..`, no hidden
// files that could shadow `.manifest` or `.signatures.json`).
const segment = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function pathProblem(path: string, suffix: '.rego' | 'data.json'): string | undefined {
  if (path.length === 0) return 'expected a relative path, got an empty string';
  if (path.startsWith('/')) return `expected a relative path, got ${JSON.stringify(path)}`;
  const segments = path.split('/');
  if (segments.some((part) => part === '..' || part === '.')) {
    return `must not contain "." or ".." segments, got ${JSON.stringify(path)}`;
  }
  if (!segments.every((part) => segment.test(part))) {
    return `segments may use letters, digits, "_", "-" and "." and must not start with "." or "-", got ${JSON.stringify(path)}`;
  }
  if (suffix === '.rego' && !path.endsWith('.rego')) {
    return `a module path must end in ".rego", got ${JSON.stringify(path)}`;
  }
  if (suffix === 'data.json' && segments[segments.length - 1] !== 'data.json') {
    return `a data document path must end in "data.json" (its directory is where it is mounted), got ${JSON.stringify(path)}`;
  }
  return undefined;
}

function text(bytes: Uint8Array | string): string {
  return typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
}

/** 1-based line/column of a JSON.parse failure, from V8's "at position N" / "line L column C". */
function jsonErrorPosition(source: string, message: string): { line: number; column: number } {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message);
  if (!position) return { line: 0, column: 0 };
  const before = source.slice(0, Number(position[1]));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/**
 * Checks the request's shape and reads it into the model the checks use. Malformed
 * requests (bad paths, duplicates, no modules, unspecified decisions) throw
 * {@link InvalidArgumentError} naming each field, e.g. `source.modules[2].path`;
 * malformed content (a data document or test input that is not JSON) becomes a
 * finding, because that is a property of the version, not of the call.
 */
export function readPolicySource(input: PolicySourceInput): {
  readonly source: PolicySourceSet;
  readonly findings: ValidationFinding[];
} {
  const violations: FieldViolation[] = [];
  const findings: ValidationFinding[] = [];
  const seen = new Map<string, string>();
  const claim = (path: string, field: string) => {
    const previous = seen.get(path);
    if (previous !== undefined) {
      violations.push({
        field,
        problem: `duplicate path ${JSON.stringify(path)} (also ${previous})`,
      });
    }
    seen.set(path, field);
  };

  if (input.modules.length === 0) {
    violations.push({ field: 'source.modules', problem: 'expected at least one Rego module' });
  }
  const modules: PolicyModule[] = input.modules.map((module, index) => {
    const field = `source.modules[${index}].path`;
    const problem = pathProblem(module.path, '.rego');
    if (problem !== undefined) violations.push({ field, problem });
    claim(module.path, field);
    return {
      path: module.path,
      source: module.source,
      scanned: scanRego(module.source),
      isTest: module.path.endsWith('_test.rego'),
    };
  });

  const data: PolicyData[] = [];
  input.data.forEach((document, index) => {
    const field = `source.data[${index}].path`;
    const problem = pathProblem(document.path, 'data.json');
    if (problem !== undefined) violations.push({ field, problem });
    claim(document.path, field);
    const raw = text(document.json);
    try {
      data.push({
        path: document.path,
        text: raw,
        value: JSON.parse(raw) as unknown,
        mount: document.path.split('/').slice(0, -1),
      });
    } catch (thrown) {
      const message = (thrown as Error).message;
      findings.push(
        error('invalid_data_json', `${document.path} is not valid JSON: ${message}`, {
          file: document.path,
          ...jsonErrorPosition(raw, message),
        }),
      );
    }
  });

  const names = new Set<string>();
  const tests: PackCase[] = [];
  input.tests.forEach((test, index) => {
    if (test.name.length === 0) {
      violations.push({ field: `source.tests[${index}].name`, problem: 'expected a test name' });
    } else if (names.has(test.name)) {
      violations.push({
        field: `source.tests[${index}].name`,
        problem: `duplicate test name ${JSON.stringify(test.name)}`,
      });
    }
    names.add(test.name);
    if (test.expectedDecision === undefined) {
      violations.push({
        field: `source.tests[${index}].expected_decision`,
        problem: 'expected DECISION_ALLOW or DECISION_DENY',
      });
      return;
    }
    tests.push({
      name: test.name,
      inputJson: text(test.inputJson),
      expected: test.expectedDecision,
    });
  });

  input.catalog.forEach((resource, index) => {
    if (!resource.identifier.startsWith('resource://')) {
      violations.push({
        field: `source.catalog[${index}].identifier`,
        problem: `expected resource://<slug>, got ${JSON.stringify(resource.identifier)}`,
      });
    }
  });

  if (violations.length > 0) {
    throw new InvalidArgumentError(
      `invalid policy source: ${violations.map((v) => `${v.field}: ${v.problem}`).join('; ')}`,
      { violations },
    );
  }
  return {
    source: {
      zoneId: input.zoneId ?? '',
      modules,
      data,
      tests,
      catalog: input.catalog.map(({ identifier, id, scopes }) => ({ identifier, id, scopes })),
    },
    findings,
  };
}
