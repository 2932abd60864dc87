import { z } from 'zod';

import { errorBody } from '../http/api.schemas.js';
import type { RouteDef } from '../http/route-table.js';
import { vendoredJsonSchema, vendoredSchemaKey } from '../pack/pack-manifest.schema.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (context) => {
      // A field checked by a vendored Caracal JSON Schema is documented by that schema.
      const vendored = z.globalRegistry.get(context.zodSchema)?.[vendoredSchemaKey];
      if (typeof vendored === 'string') {
        for (const key of Object.keys(context.jsonSchema)) delete context.jsonSchema[key];
        Object.assign(context.jsonSchema, vendoredJsonSchema(vendored));
      }
    },
  }) as JsonSchema;
  return rest;
}

function parametersOf(def: RouteDef): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [location, shape] of [
    ['path', def.params],
    ['query', def.query],
  ] as const) {
    if (shape === undefined) continue;
    const fields: Record<string, z.ZodType> = shape.shape;
    for (const [name, field] of Object.entries(fields)) {
      parameters.push({
        name,
        in: location,
        required: location === 'path' || !field.safeParse(undefined).success,
        schema: schemaOf(field, 'input'),
      });
    }
  }
  return parameters;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function operationOf(def: RouteDef): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(def.responses)) {
    const contentType = response.contentType ?? (response.schema ? 'application/json' : undefined);
    const alternatives = Object.entries(response.alternatives ?? {}).map(
      ([type, schema]) => [type, { schema: schemaOf(schema, 'output') }] as const,
    );
    responses[status] = {
      description: response.description,
      ...(contentType === undefined
        ? {}
        : {
            content: {
              [contentType]: response.schema ? { schema: schemaOf(response.schema, 'output') } : {},
              ...Object.fromEntries(alternatives),
            },
          }),
    };
  }
  if (def.body !== undefined) {
    responses['400'] ??= errorResponse('Not JSON, or the body fails the schema (names the field)');
    responses['413'] ??= errorResponse('Body larger than the configured limit');
  } else if (def.params !== undefined || def.query !== undefined) {
    responses['400'] ??= errorResponse('A path or query parameter is malformed');
  }
  if (def.access !== 'public') {
    responses['401'] ??= errorResponse('No, unknown or revoked bearer token');
    responses['403'] ??= errorResponse(`The token's role is below ${def.access}`);
  }
  if (def.params !== undefined) responses['404'] ??= errorResponse('Nothing at this path');
  if (def.method === 'post' && def.body !== undefined) {
    responses['409'] ??= errorResponse('The name or identifier is taken');
  }
  if (def.responses[422] !== undefined) {
    responses['503'] ??= errorResponse('The policy-validator is unavailable; nothing was stored');
  }
  return {
    operationId: def.operationId,
    summary: def.summary,
    tags: [def.tag],
    ...(def.access === 'public' ? { security: [] } : { 'x-caracal-role': def.access }),
    ...(parametersOf(def).length > 0 ? { parameters: parametersOf(def) } : {}),
    ...(def.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaOf(def.body, 'input') } },
          },
        }),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of the API, built from the route table: the same
 * zod schemas that validate requests become its JSON Schemas (2020-12, which
 * OpenAPI 3.1 uses as is), so the document cannot drift from the checks.
 */
export function openApiDocument(defs: readonly RouteDef[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const def of defs) {
    paths[def.path] = { ...paths[def.path], [def.method]: operationOf(def) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Caracal Deploy Admin API',
      version,
      description:
        'Policy registry (zones, catalog, policies, immutable content-addressed versions, policy sets), validation verdicts, signed bundles, simulation of declared and expected cases, replay of recorded decisions with a gate, activation (compare-and-set, idempotent, watched to convergence), rollback to the last known good version, staged deployments, API tokens and history.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (cdt_…); roles viewer < author < deployer < admin.',
        },
      },
      schemas: { Error: schemaOf(errorBody, 'output') },
    },
  };
}
