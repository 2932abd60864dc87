import {
  caracalSchemaFiles,
  readCaracalSchema,
  validatePackManifest,
} from '@caracal-deploy/policy-contract';
import { z } from 'zod';

/** A Caracal policy pack manifest (`caracal-policy-pack-manifest-2026-05-21`), once validated. */
export interface PackManifest {
  readonly schema_version: '2026-05-21';
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly policy_input_schema_version: '2026-05-20';
  readonly entrypoint: 'data.caracal.authz.result';
  readonly rego_modules: readonly string[];
  readonly parameters_schema: Readonly<Record<string, unknown>>;
  readonly tests: readonly {
    readonly name: string;
    readonly input_fixture: string;
    readonly expected_decision: 'allow' | 'deny';
  }[];
  readonly compatibility: {
    readonly caracal_min_version: string;
    readonly caracal_max_version?: string;
  };
  readonly signing: {
    readonly required: boolean;
    readonly algorithm?: 'sigstore' | 'minisign' | 'none';
  };
}

/** `meta` key marking a zod schema whose JSON Schema is a vendored Caracal schema. */
export const vendoredSchemaKey = 'x-caracal-vendored-schema';

/** A vendored Caracal JSON Schema (by file name) without its dialect, for the OpenAPI document. */
export function vendoredJsonSchema(file: string): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = readCaracalSchema(file);
  return schema;
}

/** The zod issue path of a JSON pointer (`/a/0/b` → `['a', 0, 'b']`). */
export function pathOfPointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment));
}

/**
 * The pack manifest field: checked by the vendored JSON Schema itself
 * (libs/policy-contract), each schema error becoming an issue at its field, and
 * documented in OpenAPI by that same schema, so no copy of it is kept here.
 */
export const packManifestSchema = z
  .custom<PackManifest>()
  .superRefine((value, context) => {
    for (const error of validatePackManifest(value).errors) {
      context.addIssue({ code: 'custom', message: error.message, path: pathOfPointer(error.path) });
    }
  })
  .meta({ [vendoredSchemaKey]: caracalSchemaFiles.packManifest });
