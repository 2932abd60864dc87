import { readFileSync } from 'node:fs';

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

/** One way a document breaks a schema: where (JSON pointer into the document) and what. */
export interface SchemaError {
  /** JSON pointer of the offending value, e.g. `/decision` or `/context/requested_scopes/0`; `` is the root. */
  readonly path: string;
  readonly message: string;
  /** Where in the schema the broken rule is, e.g. `#/properties/decision/enum`. */
  readonly schemaPath: string;
}

/** Outcome of validating one document against one vendored Caracal schema. */
export interface SchemaValidation {
  readonly valid: boolean;
  /** Every problem found (not only the first); empty when valid. */
  readonly errors: readonly SchemaError[];
}

/** File names of the vendored Caracal schemas, by the role they play here. */
export const caracalSchemaFiles = {
  policyInput: 'caracal-policy-input-2026-05-20.schema.json',
  policyResult: 'caracal-policy-result-2026-05-20.schema.json',
  packManifest: 'caracal-policy-pack-manifest-2026-05-21.schema.json',
} as const;

// The schemas are data next to the package (libs/policy-contract/schemas), one level
// above both src/ and dist/, so the same relative URL works from source and compiled.
const schemaDir = new URL('../schemas/', import.meta.url);

/** Reads a vendored schema document by file name (see {@link caracalSchemaFiles}). */
export function readCaracalSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')) as Record<string, unknown>;
}

let compiled: Record<keyof typeof caracalSchemaFiles, ValidateFunction> | undefined;

function validators(): Record<keyof typeof caracalSchemaFiles, ValidateFunction> {
  // Compiled once, on first use: loading the module stays free of file reads.
  compiled ??= (() => {
    // strictTypes off: the Caracal schemas use `const`/`enum` without `type`, which is valid 2020-12.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
    return {
      policyInput: ajv.compile(readCaracalSchema(caracalSchemaFiles.policyInput)),
      policyResult: ajv.compile(readCaracalSchema(caracalSchemaFiles.policyResult)),
      packManifest: ajv.compile(readCaracalSchema(caracalSchemaFiles.packManifest)),
    };
  })();
  return compiled;
}

function run(validate: ValidateFunction, value: unknown): SchemaValidation {
  if (validate(value)) return { valid: true, errors: [] };
  return { valid: false, errors: (validate.errors ?? []).map(toSchemaError) };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function toSchemaError(error: ErrorObject): SchemaError {
  const params = error.params as {
    missingProperty?: string;
    additionalProperty?: string;
    allowedValues?: unknown;
    allowedValue?: unknown;
  };
  // Point at the missing or extra property itself, not at the object that holds it.
  const child = params.missingProperty ?? params.additionalProperty;
  const path =
    child === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(child)}`;
  let message = error.message ?? error.keyword;
  if (params.allowedValues !== undefined) message += ` (${JSON.stringify(params.allowedValues)})`;
  if (params.allowedValue !== undefined) message += ` (${JSON.stringify(params.allowedValue)})`;
  if (params.additionalProperty !== undefined)
    message += ` (${JSON.stringify(params.additionalProperty)})`;
  return { path, message, schemaPath: error.schemaPath };
}

/** Validates a policy input against `caracal-policy-input-2026-05-20`. */
export function validatePolicyInput(value: unknown): SchemaValidation {
  return run(validators().policyInput, value);
}

/** Validates a policy result against `caracal-policy-result-2026-05-20`. */
export function validatePolicyResult(value: unknown): SchemaValidation {
  return run(validators().policyResult, value);
}

/** Validates a policy-pack manifest against `caracal-policy-pack-manifest-2026-05-21`. */
export function validatePackManifest(value: unknown): SchemaValidation {
  return run(validators().packManifest, value);
}
