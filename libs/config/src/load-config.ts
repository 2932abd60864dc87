import { z } from 'zod';

/** A config schema: an object of env-var names to zod types, each with a working default. */
export type ConfigShape = Record<string, z.ZodType>;

/** Thrown when configuration is invalid; the message names every bad key and what was wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly { readonly key: string; readonly problem: string }[]) {
    super(
      `invalid configuration:\n${problems.map(({ key, problem }) => `  ${key}: ${problem}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Where config values come from; defaults to the process environment. */
export type ConfigSource = Readonly<Record<string, string | undefined>>;

/**
 * Parses `source` (by default `process.env`) against `shape` and returns the typed
 * config, or throws a {@link ConfigError} naming each bad key. This is the only
 * place in the codebase that reads `process.env`.
 */
export function loadConfig<Shape extends ConfigShape>(
  shape: Shape,
  source: ConfigSource = process.env,
): z.infer<z.ZodObject<Shape>> {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = source[key];
    // An empty variable means "not set", so `FOO= cmd` falls back to the default.
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const result = z.object(shape).safeParse(picked);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      key: issue.path.map(String).join('.') || '(root)',
      problem:
        issue.path.length > 0 && picked[String(issue.path[0])] !== undefined
          ? `${issue.message} (got ${JSON.stringify(picked[String(issue.path[0])])})`
          : issue.message,
    })),
  );
}

/** Common field types for env values, which always arrive as strings. */
export const env = {
  /** A TCP port, 0–65535. */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A positive integer (counts, bounds). */
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /** A duration in milliseconds. */
  millis: (fallback: number) => z.coerce.number().int().nonnegative().default(fallback),
  /** A URL with one of the given protocols, e.g. `['redis:']`. */
  url: (fallback: string, protocols: readonly string[]) =>
    z
      .string()
      .default(fallback)
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol);
          } catch {
            return false;
          }
        },
        { message: `expected a URL with protocol ${protocols.join(' or ')}` },
      ),
  /** A comma-separated list, e.g. Kafka brokers. */
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      )
      .refine((items) => items.length > 0, { message: 'expected at least one item' }),
  /** A plain string. */
  string: (fallback: string) => z.string().min(1).default(fallback),
  /** `true`/`false`/`1`/`0`. */
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((value) => value === 'true' || value === '1'),
} as const;
