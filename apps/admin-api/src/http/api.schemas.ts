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

/** Path parameters of one activation of a zone. */
export const activationParams = z.object({ zone: slug, activation: uuid });

/** Query of the rollback record: the common list query plus an optional zone. */
export const rollbacksQuery = listQuery.extend({ zone: slug.optional() });

const activationReason = z.string().trim().min(1).max(1000);
const idempotencyKey = z.string().trim().min(1).max(1000).meta({
  description:
    'Retries with the same key return the first activation; or send an Idempotency-Key header',
});

/**
 * Body of `POST /v1/zones/{zone}/activations`. `expected_active_version_id` is
 * the compare-and-set guard and has no default: the caller states which version
 * it believes is active ("" for none), so a stale view is a 409, never a surprise.
 */
export const activateBody = z.strictObject({
  policy_set_version_id: uuid,
  expected_active_version_id: z
    .string()
    .refine((value) => value === '' || uuidPattern.test(value), {
      message: 'expected the active version id (a lowercase UUID), or "" when the zone has none',
    }),
  idempotency_key: idempotencyKey.optional(),
  reason: activationReason,
});

/** Body of `POST /v1/zones/{zone}/rollbacks`: back to the zone's last known good version. */
export const rollbackBody = z.strictObject({
  reason: activationReason,
  expected_active_version_id: uuid.optional().meta({
    description:
      'Only roll back while this version is active; otherwise the answer is skipped_not_active',
  }),
  idempotency_key: idempotencyKey.optional(),
  wait: z.boolean().default(false).meta({
    description:
      'Answer only once every live replica serves the version rolled back to (or it stalled)',
  }),
});

/** Why an activation happened. */
export const activationTrigger = z.enum([
  'unspecified',
  'manual',
  'deployment',
  'rollback_manual',
  'rollback_alert',
  'rollback_verdict',
]);
/** Where an activation's rollout stands; all but dispatching and converging are final. */
export const activationState = z.enum([
  'unspecified',
  'dispatching',
  'converging',
  'converged',
  'stalled',
  'dead_lettered',
  'superseded',
]);

/** One activation as recorded by the activation coordinator. */
export const activationView = z.object({
  id: uuid,
  zone: slug,
  policy_set_id: z.string(),
  policy_set_version_id: z.string(),
  manifest_sha256: z.string(),
  bundle_sha256: z.string(),
  previous_policy_set_version_id: z.string().nullable(),
  actor: z.string(),
  reason: z.string(),
  trigger: activationTrigger,
  idempotency_key: z.string(),
  created_at: timestamp,
});
/** The answer of an activation request. */
export const activateView = z.object({
  activation: activationView,
  replayed: z.boolean().meta({
    description: 'True when the idempotency key had already made this activation (HTTP 200)',
  }),
});
/** An activation with its outbox and per-replica progress. */
export const activationStatusView = z.object({
  activation: activationView,
  state: activationState,
  terminal: z.boolean(),
  outbox: z.object({
    state: z.string(),
    attempts: z.number(),
    last_error: z.string(),
    published_at: timestamp.nullable(),
  }),
  live_replicas: z.number(),
  serving_replicas: z.number(),
  replicas: z.array(
    z.object({
      replica_id: z.string(),
      region: z.string(),
      revision: z.string(),
      confirmed_at: timestamp.nullable(),
      serving: z.boolean(),
      lag_ms: z.number().nullable(),
    }),
  ),
  regions: z.array(z.object({ region: z.string(), live: z.number(), serving: z.number() })),
  laggards: z.array(z.string()),
  propagation_ms: z.number().nullable(),
});
/** One line of a watched activation (`application/x-ndjson`). */
export const activationWatchLine = z.discriminatedUnion('type', [
  activationStatusView.extend({ type: z.literal('status') }),
  errorBody.extend({ type: z.literal('error') }),
]);
/** One entry of a zone's activation history. */
export const activationRecordView = z.object({
  activation: activationView,
  state: activationState,
  propagation_ms: z.number().nullable(),
});
/** What a zone serves: the policy-set version and the bundle built from it. */
export const activeBindingView = z.object({
  zone: slug,
  policy_set_id: z.string(),
  policy_set_version_id: z.string(),
  manifest_sha256: z.string(),
  bundle_sha256: z.string(),
  activation_id: z.string(),
  activated_at: timestamp,
});
/** A zone's active binding and the version a rollback would activate. */
export const zoneActivationView = z.object({
  zone: slug,
  active: activeBindingView.nullable(),
  last_known_good: activationView.nullable(),
});
/** One rollback as recorded by the rollback-controller. */
export const rollbackView = z.object({
  id: z.string(),
  zone: slug,
  outcome: z.enum([
    'unspecified',
    'rolled_back',
    'duplicate',
    'skipped_not_active',
    'skipped_cooldown',
  ]),
  trigger: activationTrigger,
  from_policy_set_version_id: z.string().nullable(),
  to_policy_set_version_id: z.string().nullable(),
  activation_id: z.string().nullable(),
  reason: z.string(),
  actor: z.string(),
  trigger_details: z.record(z.string(), z.string()),
  created_at: timestamp,
});
/** The answer of a rollback request. */
export const rollbackResultView = z.object({
  rollback: rollbackView,
  status: activationStatusView.nullable(),
});

/** Path parameters of one deployment. */
export const deploymentParams = z.object({ deployment: uuid });

/** Query of the deployment list: the common list query plus an optional target zone. */
export const deploymentsQuery = listQuery.extend({ zone: slug.optional() });

/** Query of a deployment watch: only events after this sequence number (0: from the first). */
export const watchDeploymentQuery = z.object({
  after_seq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

/** Verification gates of a stage; an unset gate takes the verification aggregator's default. */
export const verificationGates = z.strictObject({
  min_probe_rounds_per_region: z.number().int().min(0).max(1_000_000).optional(),
  max_transport_error_ratio: z.number().min(0).max(1).optional(),
  max_policy_age_seconds: z.number().min(0).max(86_400).optional(),
  timeout_seconds: z.number().int().min(0).max(86_400).optional(),
});

/** One stage of a deployment as asked for. */
export const stageSpec = z.strictObject({
  name: slug,
  zones: z.array(slug).min(1).max(200),
  regions: z.array(slug).min(1).max(100).meta({
    description: 'Regions whose canary agents must report for the stage verdict (at least one)',
  }),
  bake_seconds: z.number().int().min(0).max(86_400).default(0),
  gates: verificationGates.default({}),
});

/**
 * Body of `POST /v1/deployments`. Beyond each field's own shape: stage names are
 * unique, a zone belongs to one stage, and `zone_versions` and
 * `accept_no_rollback_zones` only name zones some stage targets — each
 * violation names its exact field, e.g. `stages[1].zones[0]`.
 */
export const createDeploymentBody = z
  .strictObject({
    policy_set_version_id: uuid.meta({
      description: 'The version deployed; activated as is in its own zone',
    }),
    stages: z.array(stageSpec).min(1).max(20),
    zone_versions: z
      .array(z.strictObject({ zone: slug, policy_set_version_id: uuid }))
      .max(200)
      .default([])
      .meta({
        description:
          "For each target zone other than the version's own zone: that zone's version of the same policies",
      }),
    accept_no_rollback_zones: z.array(slug).max(200).default([]).meta({
      description: 'Zones allowed to have no version to roll back to (their first deployment)',
    }),
    reason: activationReason,
    idempotency_key: idempotencyKey.optional(),
  })
  .superRefine((body, context) => {
    const stageOfZone = new Map<string, string>();
    const stageNames = new Set<string>();
    body.stages.forEach((stage, s) => {
      if (stageNames.has(stage.name)) {
        context.addIssue({
          code: 'custom',
          path: ['stages', s, 'name'],
          message: `stage "${stage.name}" appears twice`,
        });
      }
      stageNames.add(stage.name);
      stage.zones.forEach((zone, z) => {
        const earlier = stageOfZone.get(zone);
        if (earlier !== undefined) {
          context.addIssue({
            code: 'custom',
            path: ['stages', s, 'zones', z],
            message: `zone "${zone}" is already in stage "${earlier}"; a zone belongs to one stage`,
          });
        } else stageOfZone.set(zone, stage.name);
      });
    });
    const versioned = new Set<string>();
    body.zone_versions.forEach((entry, z) => {
      if (!stageOfZone.has(entry.zone)) {
        context.addIssue({
          code: 'custom',
          path: ['zone_versions', z, 'zone'],
          message: `zone "${entry.zone}" is not a target of any stage`,
        });
      }
      if (versioned.has(entry.zone)) {
        context.addIssue({
          code: 'custom',
          path: ['zone_versions', z, 'zone'],
          message: `zone "${entry.zone}" appears twice`,
        });
      }
      versioned.add(entry.zone);
    });
    body.accept_no_rollback_zones.forEach((zone, z) => {
      if (!stageOfZone.has(zone)) {
        context.addIssue({
          code: 'custom',
          path: ['accept_no_rollback_zones', z],
          message: `zone "${zone}" is not a target of any stage`,
        });
      }
    });
  });

/** Body of pausing or resuming a deployment. */
export const deploymentActionBody = z.strictObject({ reason: activationReason });

/** Body of aborting a deployment. */
export const abortDeploymentBody = z.strictObject({
  reason: activationReason,
  roll_back: z.boolean().default(false).meta({
    description: 'Also roll back every zone the deployment activated (it then ends rolled_back)',
  }),
});

const deploymentState = z.enum([
  'unspecified',
  'preflight',
  'running',
  'paused',
  'rolling_back',
  'succeeded',
  'failed',
  'rolled_back',
  'aborted',
]);
const verdictState = z.enum(['unspecified', 'pending', 'pass', 'fail']);

/** A deployment with its pre-flight checks, stages, zones and verdicts. */
export const deploymentView = z.object({
  id: uuid,
  policy_set_version_id: z.string(),
  state: deploymentState,
  terminal: z.boolean(),
  preflight: z.array(
    z.object({
      check: z.string(),
      zone: z.string().nullable(),
      passed: z.boolean(),
      evidence: z.string(),
      details: z.record(z.string(), z.string()),
    }),
  ),
  stages: z.array(
    z.object({
      name: z.string(),
      regions: z.array(z.string()),
      bake_seconds: z.number(),
      gates: z.object({
        min_probe_rounds_per_region: z.number(),
        max_transport_error_ratio: z.number(),
        max_policy_age_seconds: z.number(),
        timeout_seconds: z.number(),
      }),
      state: z.enum([
        'unspecified',
        'pending',
        'activating',
        'converging',
        'verifying',
        'passed',
        'failed',
        'skipped',
      ]),
      zones: z.array(
        z.object({
          zone: z.string(),
          policy_set_version_id: z.string(),
          manifest_sha256: z.string(),
          state: z.enum([
            'unspecified',
            'pending',
            'activated',
            'converged',
            'passed',
            'rolled_back',
            'rollback_skipped',
            'rollback_failed',
          ]),
          previous_policy_set_version_id: z.string().nullable(),
          activation_id: z.string().nullable(),
          live_replicas: z.number(),
          serving_replicas: z.number(),
          rollback_id: z.string().nullable(),
          rolled_back_to_policy_set_version_id: z.string().nullable(),
          detail: z.string(),
        }),
      ),
      verdict: z
        .object({
          state: verdictState,
          rows: z.array(
            z.object({
              check: z.string(),
              state: verdictState,
              evidence: z.string(),
              details: z.record(z.string(), z.string()),
            }),
          ),
          started_at: timestamp.nullable(),
          decided_at: timestamp.nullable(),
        })
        .nullable(),
      started_at: timestamp.nullable(),
      finished_at: timestamp.nullable(),
    }),
  ),
  zone_versions: z.array(z.object({ zone: z.string(), policy_set_version_id: z.string() })),
  accept_no_rollback_zones: z.array(z.string()),
  current_stage: z.number().nullable(),
  failure_reason: z.string(),
  paused_by: z.string(),
  actor: z.string(),
  reason: z.string(),
  idempotency_key: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  finished_at: timestamp.nullable(),
});
/** The answer of a deployment request. */
export const createDeploymentView = z.object({
  deployment: deploymentView,
  replayed: z.boolean().meta({
    description: 'True when the idempotency key had already made this deployment (HTTP 200)',
  }),
});
/** One recorded state change of a deployment. */
export const deploymentEventView = z.object({
  seq: z.number(),
  kind: z.string(),
  stage: z.string().nullable(),
  zone: z.string().nullable(),
  message: z.string(),
  details: z.record(z.string(), z.string()),
  at: timestamp,
});
/** One line of a watched deployment (`application/x-ndjson`). */
export const deploymentWatchLine = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('event'),
    event: deploymentEventView,
    deployment: deploymentView,
  }),
  errorBody.extend({ type: z.literal('error') }),
]);
