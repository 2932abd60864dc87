import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';
import type { z } from 'zod';

/** `modules[0].path` from a zod issue path; the root is `(body)`-style `root`. */
export function fieldPath(path: readonly PropertyKey[], root: string): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text === '' ? root : text;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'undefined' ? 'nothing' : typeof value;
}

/** One violation per zod issue, worded as "expected …, got …" where zod knows both. */
export function violationsOf(error: z.ZodError, root: string): FieldViolation[] {
  return error.issues.map((issue) => {
    const field = fieldPath(issue.path, root);
    if (issue.code === 'invalid_type') {
      return { field, problem: `expected ${issue.expected}, got ${jsonType(issue.input)}` };
    }
    if (issue.code === 'unrecognized_keys') {
      return { field, problem: `unknown field(s): ${issue.keys.join(', ')}` };
    }
    return { field, problem: issue.message };
  });
}

/**
 * Parses `value` with `schema` or throws an {@link InvalidArgumentError} whose
 * message names the first bad field and whose violations name all of them.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const violations = violationsOf(result.error, what);
  const [first] = violations;
  throw new InvalidArgumentError(
    `invalid ${what}: ${first?.field}: ${first?.problem}` +
      (violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''),
    { violations },
  );
}
