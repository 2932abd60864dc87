import { readFile } from 'node:fs/promises';

import { FailedPreconditionError, InvalidArgumentError } from '@caracal-deploy/errors';
import { z } from 'zod';

import type { Probe } from './probe.js';

const probeSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, {
    message: 'expected 1-128 of A-Z a-z 0-9 . _ : -',
  }),
  zone: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a zone slug' })
    .optional(),
  subject_claims: z
    .record(z.string(), z.unknown())
    .refine((claims) => typeof claims['sub'] === 'string' && claims['sub'].length > 0, {
      message: 'expected a non-empty "sub" claim (the canary principal)',
    }),
  resource: z.string().min(1),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'expected a scope token' }))
    .min(1),
  method: z.string().regex(/^[A-Z]+$/, { message: 'expected an upper-case HTTP method' }),
  path: z.string().startsWith('/', { message: 'expected an absolute path, e.g. "/orders/1"' }),
  expected_decision: z.enum(['allow', 'deny']),
});

const fileSchema = z.strictObject({ probes: z.array(probeSchema) });

/**
 * Validates the static probes document `{"probes": [...]}`; every problem is a
 * violation naming its field (`probes[2].expected_decision`). Probes without a
 * zone get `defaultZone`.
 */
export function parseStaticProbes(document: unknown, defaultZone: string): Probe[] {
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const violations = parsed.error.issues.map((issue) => ({
      field: fieldPath(issue.path),
      problem: issue.message,
    }));
    throw new InvalidArgumentError(
      `invalid static probes: ${violations.map((v) => `${v.field}: ${v.problem}`).join('; ')}`,
      { violations },
    );
  }
  const seen = new Set<string>();
  const duplicates = parsed.data.probes.flatMap((probe, index) => {
    const duplicate = seen.has(probe.id);
    seen.add(probe.id);
    return duplicate ? [{ field: `probes[${index}].id`, problem: `duplicate id ${probe.id}` }] : [];
  });
  if (duplicates.length > 0) {
    throw new InvalidArgumentError(
      `invalid static probes: ${duplicates.map((v) => `${v.field}: ${v.problem}`).join('; ')}`,
      { violations: duplicates },
    );
  }
  return parsed.data.probes.map((probe) => ({
    id: probe.id,
    zone: probe.zone ?? defaultZone,
    subjectClaims: probe.subject_claims,
    resource: probe.resource,
    scopes: probe.scopes,
    method: probe.method,
    path: probe.path,
    expectedDecision: probe.expected_decision,
  }));
}

/** Reads and validates the static probes file named by `setting`; errors name the setting, the file and the field. */
export async function loadStaticProbes(
  file: string,
  defaultZone: string,
  setting = 'CARACAL_CANARY_PROBES_FILE',
): Promise<Probe[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new FailedPreconditionError(
      `${setting}: ${file} is not readable (${(error as Error).message})`,
      { cause: error },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(
      `${setting}: ${file} is not JSON (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  try {
    return parseStaticProbes(document, defaultZone);
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`${setting}: ${file}: ${error.message}`, {
        cause: error,
        violations: error.violations,
      });
    }
    throw error;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  }
  return text || '(root)';
}
