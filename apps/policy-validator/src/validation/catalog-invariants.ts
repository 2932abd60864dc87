import { positionAt } from './rego-lexer.js';
import {
  error,
  type CatalogEntry,
  type FindingLocation,
  type PolicyData,
  type PolicyModule,
  type ValidationFinding,
} from './validation-model.js';

/*
 * Catalog invariants: what a policy and its data reference must exist in the
 * zone's resource catalog (the `catalog` of the request).
 *
 * 1. Resources. Every string that is a whole resource identifier (`resource://`
 *    then a slug without spaces, `%` or braces), as a literal in a module or
 *    anywhere in a data document (values and keys), must be the `identifier` of a
 *    catalog resource; otherwise `unknown_resource` naming it, with its location.
 *    Format templates such as `sprintf("resource://%s", [x])` are not identifiers.
 *
 * 2. Grants. Everything under `data.caracal.grants` (whichever data.json mounts it)
 *    is grants: an array of grant objects, or objects whose values are grants or
 *    further groups of grants. A grant is an object
 *        { "resource": "resource://api", "scopes": ["read"], ...anything else }
 *    It must name a catalog resource (`invalid_grant` otherwise), and every scope
 *    must be a scope of that resource: a scope no catalog resource has is
 *    `unknown_scope`, a scope of another resource only is `invalid_grant`.
 *
 * 3. Scopes compared in policy code. A string literal compared with a reference
 *    to `input.resource.scopes` or `input.context.requested_scopes` on the same
 *    line is a scope name and must be a scope of some catalog resource
 *    (`unknown_scope`). "Compared" means the code between the literal and the
 *    reference holds `==`, `!=` or `in` and no parenthesis, so
 *    `"write" in input.context.requested_scopes`,
 *    `input.resource.scopes[_] == "read"` and
 *    `input.context.requested_scopes[_] in {"read", "write"}` count, while
 *    `sprintf("scopes %v", [input.context.requested_scopes])` does not. This is a
 *    lexical rule, not data-flow analysis: a scope bound to a variable on another
 *    line is not seen. Keep scope comparisons on one line, or keep scope lists in
 *    data as grants, where rule 2 checks them exactly.
 */

const resourceIdentifier = /^resource:\/\/[^\s%{}]+$/;
const scopeRefs = /\binput\.(?:resource\.scopes|context\.requested_scopes)\b/g;

/** True when the literal at `column` (1-based) on `line` (code with strings blanked) is compared with a scope reference. */
function comparedWithScopes(line: string, column: number, length: number): boolean {
  for (const ref of line.matchAll(scopeRefs)) {
    const literalStart = column - 1;
    const between =
      ref.index < literalStart
        ? line.slice(ref.index + ref[0].length, literalStart)
        : line.slice(literalStart + length, ref.index);
    if (/==|!=|\bin\b/.test(between) && !/[()]/.test(between)) return true;
  }
  return false;
}

/** Checks modules and data against the zone's catalog; see the rules above. */
export function checkCatalogInvariants(
  modules: readonly PolicyModule[],
  data: readonly PolicyData[],
  catalog: readonly CatalogEntry[],
): ValidationFinding[] {
  const byIdentifier = new Map(catalog.map((entry) => [entry.identifier, entry]));
  const allScopes = new Set(catalog.flatMap((entry) => entry.scopes));
  const findings: ValidationFinding[] = [];

  for (const module of modules) {
    const codeLines = module.scanned.code.split('\n');
    for (const literal of module.scanned.strings) {
      const location = { file: module.path, line: literal.line, column: literal.column };
      if (resourceIdentifier.test(literal.value)) {
        if (!byIdentifier.has(literal.value))
          findings.push(unknownResource(literal.value, location));
      } else if (
        !allScopes.has(literal.value) &&
        comparedWithScopes(codeLines[literal.line - 1] ?? '', literal.column, literal.length)
      ) {
        findings.push(
          error(
            'unknown_scope',
            `scope ${JSON.stringify(literal.value)} compared with the request's scopes is not a scope of any resource in the catalog`,
            location,
            { scope: literal.value },
          ),
        );
      }
    }
  }

  for (const document of data) {
    const locate = locator(document);
    const grantResourcePointers = new Set<string>();
    for (const { grant, pointer } of grantsOf(document)) {
      const location = locate(pointer, grant);
      if (typeof grant !== 'object' || grant === null || Array.isArray(grant)) {
        findings.push(
          error(
            'invalid_grant',
            `grant at ${pointer} is not an object with a "resource"`,
            location,
            {
              pointer,
            },
          ),
        );
        continue;
      }
      const record = grant as Record<string, unknown>;
      const resource = record['resource'];
      grantResourcePointers.add(`${pointer}/resource`);
      if (typeof resource !== 'string') {
        findings.push(
          error(
            'invalid_grant',
            `grant at ${pointer} names no resource (expected "resource": "resource://…")`,
            location,
            {
              pointer,
            },
          ),
        );
        continue;
      }
      const entry = byIdentifier.get(resource);
      if (entry === undefined) {
        findings.push(
          error(
            'invalid_grant',
            `grant at ${pointer} names ${resource}, which is not in the zone's catalog`,
            locate(`${pointer}/resource`, resource),
            { pointer, resource },
          ),
        );
        continue;
      }
      const scopes = record['scopes'] ?? [];
      if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
        findings.push(
          error(
            'invalid_grant',
            `grant at ${pointer} has "scopes" that is not an array of strings`,
            location,
            {
              pointer,
              resource,
            },
          ),
        );
        continue;
      }
      (scopes as string[]).forEach((scope, index) => {
        if (entry.scopes.includes(scope)) return;
        const scopeLocation = locate(`${pointer}/scopes/${index}`, scope);
        const details = { pointer: `${pointer}/scopes/${index}`, resource, scope };
        findings.push(
          allScopes.has(scope)
            ? error(
                'invalid_grant',
                `grant at ${pointer} gives scope ${JSON.stringify(scope)} on ${resource}, which only has scopes ${entry.scopes.join(', ') || '(none)'}`,
                scopeLocation,
                details,
              )
            : error(
                'unknown_scope',
                `grant at ${pointer} gives scope ${JSON.stringify(scope)}, which no resource in the catalog has (${resource} has ${entry.scopes.join(', ') || 'none'})`,
                scopeLocation,
                details,
              ),
        );
      });
    }
    walk(document.value, '', (value, pointer, isKey) => {
      if (typeof value !== 'string' || !resourceIdentifier.test(value)) return;
      if (byIdentifier.has(value) || (!isKey && grantResourcePointers.has(pointer))) return;
      findings.push(unknownResource(value, locate(pointer, value)));
    });
  }
  return findings;
}

function unknownResource(identifier: string, location: FindingLocation): ValidationFinding {
  return error(
    'unknown_resource',
    `${identifier} is not a resource identifier in the zone's catalog`,
    location,
    { resource: identifier },
  );
}

const grantsPath = ['caracal', 'grants'];

/** Every grant under `data.caracal.grants` in one document, with its JSON pointer in that document. */
function grantsOf(document: PolicyData): { grant: unknown; pointer: string }[] {
  let node: unknown = document.value;
  let pointer = '';
  const mount = document.mount;
  const overlap = Math.min(mount.length, grantsPath.length);
  if (mount.slice(0, overlap).join('/') !== grantsPath.slice(0, overlap).join('/')) return [];
  for (const key of grantsPath.slice(mount.length)) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return [];
    node = (node as Record<string, unknown>)[key];
    pointer += `/${key}`;
    if (node === undefined) return [];
  }
  const grants: { grant: unknown; pointer: string }[] = [];
  const collect = (value: unknown, at: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => grants.push({ grant: item, pointer: `${at}/${index}` }));
    } else if (typeof value === 'object' && value !== null && !('resource' in value)) {
      for (const [key, child] of Object.entries(value)) collect(child, `${at}/${escape(key)}`);
    } else {
      grants.push({ grant: value, pointer: at === '' ? '/' : at });
    }
  };
  collect(node, pointer);
  return grants;
}

function walk(
  value: unknown,
  pointer: string,
  visit: (value: unknown, pointer: string, isKey: boolean) => void,
): void {
  visit(value, pointer, false);
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${pointer}/${index}`, visit));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      visit(key, `${pointer}/${escape(key)}`, true);
      walk(child, `${pointer}/${escape(key)}`, visit);
    }
  }
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Locates values in a data document's text: the first occurrence of the value's
 * JSON text after the previous hit for the same text (documents are walked in
 * order, so repeated values land on successive occurrences). Unknown → line 0.
 */
export function locator(
  document: PolicyData,
): (pointer: string, value: unknown) => FindingLocation {
  const cursor = new Map<string, number>();
  return (_pointer, value) => {
    const needle = typeof value === 'string' ? JSON.stringify(value) : undefined;
    if (needle === undefined) return { file: document.path, line: 0, column: 0 };
    const from = cursor.get(needle) ?? 0;
    const offset = document.text.indexOf(needle, from);
    if (offset === -1) return { file: document.path, line: 0, column: 0 };
    cursor.set(needle, offset + needle.length);
    return { file: document.path, ...positionAt(document.text, offset) };
  };
}
