// Generates the Admin SDK's request/response types from the Admin API's own
// OpenAPI document, so the SDK never retypes the contract by hand.
//
//   node tools/sdk/generate-types.mjs            # write libs/sdk/src/gen/admin-api.types.ts
//   node tools/sdk/generate-types.mjs --check    # fail when the committed file is stale
//   node tools/sdk/generate-types.mjs --url http://127.0.0.1:8470   # read a running server's document
//
// Without `--url` the document is built exactly as the server builds it
// (`openApiDocument(allRoutes)` from apps/admin-api/dist, so run `npm run build`
// first): the same zod schemas that validate requests become these types.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const workspace = new URL('../..', import.meta.url).pathname;
const output = join(workspace, 'libs/sdk/src/gen/admin-api.types.ts');
const args = process.argv.slice(2);
const check = args.includes('--check');
const urlIndex = args.indexOf('--url');
const url = urlIndex >= 0 ? args[urlIndex + 1] : undefined;

async function loadDocument() {
  if (url !== undefined) {
    const response = await fetch(new URL('/v1/openapi.json', url));
    if (!response.ok) throw new Error(`${url}/v1/openapi.json answered ${response.status}`);
    return response.json();
  }
  const dist = join(workspace, 'apps/admin-api/dist');
  if (!existsSync(join(dist, 'openapi/openapi-document.js'))) {
    throw new Error('apps/admin-api/dist is missing: run `npx tsc -b apps/admin-api` first');
  }
  const { allRoutes } = await import(pathToFileURL(join(dist, 'http/route-table.js')).href);
  const { openApiDocument } = await import(
    pathToFileURL(join(dist, 'openapi/openapi-document.js')).href
  );
  // The version string is the only part that differs between builds; it is not a type.
  return openApiDocument(allRoutes, '0.0.0');
}

const pascal = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name) => (identifier.test(name) ? name : JSON.stringify(name));
const refNames = { '#/components/schemas/Error': 'ApiErrorBody' };

function comment(text, indent) {
  if (typeof text !== 'string' || text.length === 0) return '';
  const safe = text.replace(/\*\//g, '*\\/');
  return `${indent}/** ${safe.split('\n').join(`\n${indent} * `)} */\n`;
}

/** TypeScript type text of a JSON Schema (2020-12, as zod emits it). */
function toType(schema, indent = '') {
  if (schema === undefined || schema === true || schema === null) return 'unknown';
  if (schema === false) return 'never';
  if (typeof schema.$ref === 'string') {
    const name = refNames[schema.$ref];
    if (!name) throw new Error(`unsupported $ref ${schema.$ref}`);
    return name;
  }
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) {
    return [...new Set(union.map((s) => wrap(toType(s, indent))))].join(' | ');
  }
  if (Array.isArray(schema.allOf))
    return schema.allOf.map((s) => wrap(toType(s, indent))).join(' & ');
  if (Array.isArray(schema.type)) {
    return schema.type.map((t) => wrap(toType({ ...schema, type: t }, indent))).join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      if (Array.isArray(schema.prefixItems)) {
        return `[${schema.prefixItems.map((s) => toType(s, indent)).join(', ')}]`;
      }
      return `Array<${toType(schema.items, indent)}>`;
    case 'object':
      return objectType(schema, indent);
    default:
      if (schema.properties) return objectType(schema, indent);
      return 'unknown';
  }
}

function wrap(type) {
  return /[|&]/.test(type) && !/^[{[(]/.test(type) ? `(${type})` : type;
}

function objectType(schema, indent) {
  const inner = `${indent}  `;
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(
    ([name, property]) =>
      `${comment(property.description, inner)}${inner}${key(name)}${required.has(name) ? '' : '?'}: ${toType(property, inner)};`,
  );
  const extra = schema.additionalProperties;
  if (extra !== undefined && extra !== false) {
    lines.push(`${inner}[key: string]: ${extra === true ? 'unknown' : toType(extra, inner)};`);
  } else if (lines.length === 0) {
    return extra === false ? 'Record<string, never>' : 'Record<string, unknown>';
  }
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function jsonSchemaOf(content, type = 'application/json') {
  return content?.[type]?.schema;
}

function render(document) {
  const sha = createHash('sha256').update(JSON.stringify(document)).digest('hex');
  const out = [
    '// GENERATED by tools/sdk/generate-types.mjs from the Admin API OpenAPI document. Do not edit.',
    `// document sha256 (version field 0.0.0): ${sha}`,
    '',
    '/** The error body every non-2xx JSON answer carries. */',
    `export type ApiErrorBody = ${toType(document.components.schemas.Error)};`,
    '',
  ];
  const operations = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op.tags?.includes('immutability')) continue;
      const name = pascal(op.operationId);
      const entry = { name, method, path, types: {} };
      const emit = (suffix, what, type) => {
        out.push(`/** ${what} of \`${method.toUpperCase()} ${path}\` (${op.operationId}). */`);
        out.push(`export type ${name}${suffix} = ${type};`, '');
        entry.types[suffix] = `${name}${suffix}`;
      };
      for (const [location, suffix] of [
        ['path', 'Params'],
        ['query', 'Query'],
      ]) {
        const params = (op.parameters ?? []).filter((p) => p.in === location);
        if (params.length === 0) continue;
        emit(
          suffix,
          `${location} parameters`,
          objectType(
            {
              properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
              required: params.filter((p) => p.required).map((p) => p.name),
              additionalProperties: false,
            },
            '',
          ),
        );
      }
      const body = jsonSchemaOf(op.requestBody?.content);
      if (body) emit('Body', 'The JSON request body', toType(body));
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      const json = [
        ...new Map(
          ok
            .map(([, r]) => jsonSchemaOf(r.content))
            .filter(Boolean)
            .map((s) => [JSON.stringify(s), s]),
        ).values(),
      ];
      if (json.length > 0) {
        emit('Response', 'The JSON success answer', json.map((s) => wrap(toType(s))).join(' | '));
      }
      const stream = ok
        .map(([, r]) => jsonSchemaOf(r.content, 'application/x-ndjson'))
        .find(Boolean);
      if (stream) emit('StreamLine', 'One NDJSON line of the streamed answer', toType(stream));
      operations.push(entry);
    }
  }
  out.push('/** Every operation: its method, path and the names of its generated types. */');
  out.push('export const adminApiOperations = {');
  for (const op of operations) {
    out.push(
      `  ${key(op.name.charAt(0).toLowerCase() + op.name.slice(1))}: { method: '${op.method.toUpperCase()}', path: '${op.path}' },`,
    );
  }
  out.push('} as const;', '');
  return out.join('\n');
}

// Formatted as `npx prettier` would, so the committed file and a fresh run compare byte for byte.
const prettier = await import('prettier');
const options = (await prettier.resolveConfig(output)) ?? {};
const text = await prettier.format(render(await loadDocument()), { ...options, filepath: output });
if (check) {
  const current = existsSync(output) ? readFileSync(output, 'utf8') : '';
  if (current !== text) {
    console.error(
      `${output} is stale: the Admin API contract (or the generator) changed. Run \`npm run sdk:codegen\` and commit the result.`,
    );
    process.exit(1);
  }
  console.log('SDK types match the Admin API OpenAPI document');
} else {
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, text);
  console.log(`wrote ${output}`);
}
