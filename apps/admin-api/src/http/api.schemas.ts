import { z } from 'zod';

import {
  maxSlugLength,
  resourceIdentifierPattern,
  sha256Pattern,
  slugPattern,
  uuidPattern,
} from '../common/identifiers.js';
import { defaultPageSize, maxPageSize } from '../common/pagination.js';
import { roles } from '../auth/roles.js';
import {
  packManifestSchema,
  pathOfPointer,
  vendoredSchemaKey,
} from '../pack/pack-manifest.schema.js';
import { caracalSchemaFiles, validatePolicyInput } from '@caracal-deploy/policy-contract';

const slug = z
  .string()
  .max(maxSlugLength)
  .regex(slugPattern, { message: 'expected lowercase letters, digits and dashes' });
const uuid = z.string().regex(uuidPattern, { message: 'expected a lowercase UUID' });
const sha256 = z.string().regex(sha256Pattern, { message: 'expected a lowercase hex sha256' });
const description = z.string().max(1000).default('');
const uniqueStrings = z
  .array(z.string().min(1))
  .refine((items) => new Set(items).size === items.length, { message: 'expected unique items' });
const timestamp = z.iso.datetime();

/** Path parameters of zone-scoped routes. */
export const zoneParams = z.object({ zone: slug });
/** Path parameters of policy-scoped routes. */
export const policyParams = z.object({ zone: slug, policy: slug });
/** Path parameters of one policy version. */
export const policyVersionParams = z.object({ zone: slug, policy: slug, id: uuid });
/** Path parameters of policy-set-scoped routes. */
export const policySetParams = z.object({ zone: slug, set: slug });
/** Path parameters of one policy-set version. */
export const policySetVersionParams = z.object({ zone: slug, set: slug, id: uuid });
/** Path parameters of one resource. */
export const resourceParams = z.object({ zone: slug, resource: slug });
/** Path parameters of a bundle. */
export const bundleParams = z.object({ sha256 });
/** Path parameters of a token. */
export const tokenParams = z.object({ id: uuid });

/** Query of every list endpoint. */
export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(maxPageSize).default(defaultPageSize),
  cursor: z.string().min(1).optional(),
});
/** Query of the history list: the common one plus filters. */
export const historyQuery = listQuery.extend({
  zone: slug.optional(),
  entity_kind: z.string().min(1).optional(),
});

/** Body of `POST /v1/zones`. */
export const createZoneBody = z.strictObject({ name: slug, description });
/** Body of `POST /v1/zones/{zone}/resources`. */
export const createResourceBody = z.strictObject({
  identifier: z.string().regex(resourceIdentifierPattern, {
    message: 'expected resource://<slug> (slug: lowercase letters, digits, dashes)',
  }),
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  scopes: uniqueStrings,
  operations: uniqueStrings,
});
/** Body of `POST /v1/zones/{zone}/policies` and `…/policy-sets`. */
export const createNamedBody = z.strictObject({ name: slug, description });

/** A bundle-relative path without `..`, absolute or empty segments. */
const bundlePath = z
  .string()
  .min(1)
  .max(500)
  .refine((path) => path.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), {
    message: 'expected a relative path without empty, "." or ".." segments',
  });

/** A Rego module of a policy version. */
export const regoModule = z.strictObject({
  path: bundlePath.refine((path) => path.endsWith('.rego'), { message: 'expected a .rego path' }),
  source: z.string(),
});
/** A data document of a policy version: mounted under `data` at its directory. */
export const dataDocument = z.strictObject({
  path: bundlePath.refine((path) => path === 'data.json' || path.endsWith('/data.json'), {
    message: 'expected a path ending in data.json',
  }),
  json: z.unknown(),
});
/** A pack test: an input and the decision the policy must return for it. */
export const packTest = z.strictObject({
  name: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()),
  expected_decision: z.enum(['allow', 'deny']),
});
/** Body of `POST …/policies/{policy}/versions`. */
export const createPolicyVersionBody = z.strictObject({
  modules: z.array(regoModule).min(1),
  data: z.array(dataDocument).default([]),
  tests: z.array(packTest).default([]),
});
/** Body of `POST …/policies/{policy}/versions:pack`: a Caracal policy pack. */
export const uploadPackBody = z.strictObject({
  manifest: packManifestSchema,
  files: z.record(z.string(), z.string()),
});
/** Body of `POST …/policy-sets/{set}/versions`. */
export const createPolicySetVersionBody = z.strictObject({
  policy_version_ids: z.array(uuid).min(1),
});
/** A declared simulation case: a policy input and the decision it should get. */
export const simulationCase = z.strictObject({
  name: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()),
  expected_decision: z.enum(['allow', 'deny']),
});

/**
 * Body of `POST …/versions/{id}/simulate`. Each case is checked on its own (a
 * malformed one is a 400 naming its field, or, with `continue_on_invalid_case`,
 * reported invalid while the rest runs), so `cases` is typed item by item later.
 */
export const simulateBody = z.strictObject({
  cases: z
    .array(z.unknown())
    .min(1)
    .meta({ description: 'Declared cases: { name, input, expected_decision: allow | deny }' }),
  against_live: z.boolean().default(false),
  continue_on_invalid_case: z.boolean().default(false),
});

/** Body of `POST …/versions/{id}/replay`: which recorded decisions, and the gate. */
export const replayBody = z
  .strictObject({
    window: z
      .strictObject({ from: timestamp, to: timestamp.optional() })
      .refine(
        (window) => window.to === undefined || Date.parse(window.to) > Date.parse(window.from),
        {
          message: 'expected to after from',
          path: ['to'],
        },
      )
      .optional(),
    max_samples: z.number().int().min(1).max(100_000_000).optional(),
    gate: z.string().max(1000).default('').meta({
      description:
        'Comma-separated clauses, e.g. "deny_to_allow=0,allow_to_deny<=0.5%,min_samples>=1000"',
    }),
    workers: z.number().int().min(1).max(64).optional(),
  })
  .refine((body) => body.window !== undefined || body.max_samples !== undefined, {
    message: 'expected a window, max_samples or both',
    path: ['window'],
  });

/** A policy input checked against the vendored `caracal-policy-input-2026-05-20` schema. */
const policyInput = z
  .custom<Record<string, unknown>>()
  .superRefine((value, context) => {
    for (const error of validatePolicyInput(value).errors) {
      context.addIssue({ code: 'custom', message: error.message, path: pathOfPointer(error.path) });
    }
  })
  .meta({ [vendoredSchemaKey]: caracalSchemaFiles.policyInput });

/** One expected case stored with a policy set: a schema-valid input and its decision. */
export const expectedCase = z.strictObject({
  name: z.string().min(1).max(200),
  input: policyInput,
  expected_decision: z.enum(['allow', 'deny']),
});

/** Body of `PUT …/policy-sets/{set}/expected-cases`: the whole list, replacing the last one. */
export const putExpectedCasesBody = z.strictObject({
  cases: z
    .array(expectedCase)
    .max(1000)
    .refine((cases) => new Set(cases.map((item) => item.name)).size === cases.length, {
      message: 'expected unique case names',
    }),
});

/** Body of `POST /v1/tokens`. */
export const createTokenBody = z.strictObject({ name: slug, role: z.enum(roles) });

/** The error body of every failed request. */
export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    violations: z.array(z.object({ field: z.string(), problem: z.string() })),
    details: z.record(z.string(), z.string()),
    findings: z.array(z.unknown()).optional(),
  }),
});

const finding = z.object({
  severity: z.enum(['error', 'warning', 'unspecified']),
  code: z.string(),
  message: z.string(),
  location: z.object({ file: z.string(), line: z.number(), column: z.number() }),
  details: z.record(z.string(), z.string()),
});
const testResult = z.object({
  name: z.string(),
  kind: z.string(),
  passed: z.boolean(),
  expected: z.string(),
  actual: z.string(),
  message: z.string(),
});

/** A zone as returned. */
export const zoneView = z.object({
  id: uuid,
  name: slug,
  description: z.string(),
  created_by: z.string(),
  created_at: timestamp,
});
/** A catalog resource as returned. */
export const resourceView = z.object({
  identifier: z.string(),
  id: z.string(),
  type: z.string(),
  scopes: z.array(z.string()),
  operations: z.array(z.string()),
  zone: slug,
  created_by: z.string(),
  created_at: timestamp,
});
/** A policy or policy set as returned. */
export const namedView = z.object({
  id: uuid,
  zone: slug,
  name: slug,
  description: z.string(),
  created_by: z.string(),
  created_at: timestamp,
});
/** A validator verdict as returned. */
export const verdictView = z.object({
  id: uuid,
  valid: z.boolean(),
  findings: z.array(finding),
  tests: z.array(testResult),
  opa_version: z.string(),
  catalog_sha256: sha256,
  created_at: timestamp,
});
/** A policy version as returned (content included on get). */
export const policyVersionView = z.object({
  id: uuid,
  zone: slug,
  policy: slug,
  content_sha256: sha256,
  source_format: z.enum(['sources', 'pack']),
  // Present on get; packs also keep their manifest facts (id, name, version, …).
  content: createPolicyVersionBody.extend({ pack: z.looseObject({}).optional() }).optional(),
  verdict: verdictView.nullable(),
  created_by: z.string(),
  created_at: timestamp,
});
const evaluationView = z.object({
  decision: z.enum(['allow', 'deny']),
  evaluation_status: z.string(),
  determining_policies: z.array(z.unknown()),
  diagnostics: z.array(z.unknown()),
  result: z.unknown(),
});
/** One case's outcome as returned. */
export const caseResultView = z.object({
  name: z.string(),
  expected_decision: z.enum(['allow', 'deny']).nullable(),
  passed: z.boolean(),
  flipped: z.boolean(),
  candidate: evaluationView.nullable(),
  baseline: evaluationView.nullable(),
  input_warnings: z.array(z.object({ code: z.string(), message: z.string(), path: z.string() })),
  invalid: z.object({ field: z.string(), problem: z.string() }).nullable(),
});
const bundleRef = z.object({
  policy_set_version_id: z.string(),
  bundle_sha256: sha256,
  revision: sha256,
});
const caseSummary = z.object({
  passed: z.number(),
  failed: z.number(),
  flipped: z.number(),
  invalid: z.number(),
});
/** A simulation of declared cases as returned. */
export const simulationView = z.object({
  zone: slug,
  candidate: bundleRef,
  baseline: bundleRef.nullable(),
  summary: caseSummary,
  results: z.array(caseResultView),
});
const replayProgressView = z.object({
  read: z.number(),
  evaluated: z.number(),
  invalid: z.number(),
  skipped: z.number(),
});
/** The outcome of a replay of recorded decisions as returned. */
export const replayView = z.object({
  zone: slug,
  candidate: bundleRef,
  result: z.enum(['pass', 'fail', 'no_data']),
  gate: z.object({ clauses: z.string(), reasons: z.array(z.string()) }),
  totals: z.object({
    evaluated: z.number(),
    unchanged: z.number(),
    allow_to_deny: z.number(),
    deny_to_allow: z.number(),
    newly_erroring: z.number(),
  }),
  top_groups: z.array(
    z.object({
      resource: z.string(),
      scopes: z.string(),
      principal_type: z.string(),
      change: z.string(),
      count: z.number(),
      example_decision_ids: z.array(z.string()),
    }),
  ),
  ungrouped_changes: z.number(),
  progress: replayProgressView,
});
/** One line of a streamed replay (`application/x-ndjson`). */
export const replayStreamLine = z.discriminatedUnion('type', [
  replayProgressView.extend({ type: z.literal('progress') }),
  replayView.extend({ type: z.literal('result') }),
  errorBody.extend({ type: z.literal('error') }),
]);
/** A policy set's expected cases as returned. */
export const expectedCasesView = z.object({
  zone: slug,
  policy_set: slug,
  revision: z.number(),
  cases: z.array(expectedCase),
  updated_by: z.string().nullable(),
  updated_at: timestamp.nullable(),
});
/** The expected cases of a set run on one of its versions, as returned with the version. */
export const expectedCasesRunView = z.object({
  expected_cases_revision: z.number(),
  bundle_sha256: sha256,
  summary: caseSummary,
  results: z.array(caseResultView),
  created_at: timestamp,
});

/** A policy-set version as returned. */
export const policySetVersionView = z.object({
  id: uuid,
  zone: slug,
  policy_set: slug,
  manifest_sha256: sha256,
  manifest: z.object({
    schema: z.string(),
    zone: slug,
    policy_set: slug,
    policy_versions: z.array(z.object({ policy: slug, id: uuid, content_sha256: sha256 })),
  }),
  verdict: verdictView.nullable(),
  bundle_sha256: sha256.nullable(),
  created_by: z.string(),
  created_at: timestamp,
});
/** A bundle's metadata as returned. */
export const bundleView = z.object({
  sha256,
  revision: sha256,
  policy_set_version_id: uuid,
  size_bytes: z.number(),
  signing_key_id: z.string(),
  signing_algorithm: z.string(),
  url: z.string(),
  created_by: z.string(),
  created_at: timestamp,
});
/** An API token as returned (the secret only once, on creation). */
export const tokenView = z.object({
  id: uuid,
  name: z.string(),
  role: z.enum(roles),
  created_by: z.string(),
  created_at: timestamp,
  revoked_at: timestamp.nullable(),
  token: z.string().optional(),
});
/** One history entry. */
export const historyView = z.object({
  actor: z.string(),
  action: z.string(),
  entity_kind: z.string(),
  entity_id: z.string(),
  zone: z.string().nullable(),
  details: z.record(z.string(), z.string()),
  at: timestamp,
});

/** The page shape every list endpoint returns. */
export function pageOf(item: z.ZodType): z.ZodType {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}
