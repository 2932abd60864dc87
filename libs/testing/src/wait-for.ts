import { setTimeout as delay } from 'node:timers/promises';

/** How long and how often {@link waitFor} polls, and what it is waiting for (used in the error). */
export interface WaitForOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** Pause between probes; defaults to 50 ms. */
  readonly intervalMs?: number;
  /** What is awaited, e.g. `"consumer to receive 3 messages"`; named in the timeout error. */
  readonly description: string;
}

/**
 * Polls `probe` until it resolves to something other than `undefined` and returns that
 * value. A probe that throws counts as "not yet"; on timeout the error names
 * `description` and the last probe error. A probe that hangs cannot stretch the timeout.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  options: WaitForOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 50, description } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const remaining = deadline - Date.now();
    const outcome = await settleWithin(probe, Math.max(remaining, 0));
    if (outcome.kind === 'value' && outcome.value !== undefined) return outcome.value;
    if (outcome.kind === 'error') lastError = outcome.error;
    if (Date.now() >= deadline) {
      const last =
        lastError === undefined
          ? 'the probe never produced a value'
          : `last probe error: ${describeError(lastError)}`;
      throw new Error(
        `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}; ${last}`,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await delay(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}

type Outcome<T> =
  | { readonly kind: 'value'; readonly value: T | undefined }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'pending' };

async function settleWithin<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<Outcome<T>> {
  const abort = new AbortController();
  const attempt = (async (): Promise<Outcome<T>> => {
    try {
      return { kind: 'value', value: await probe() };
    } catch (error) {
      return { kind: 'error', error };
    }
  })();
  const timer = delay(ms, undefined, { signal: abort.signal }).then(
    (): Outcome<T> => ({ kind: 'pending' }),
    (): Outcome<T> => ({ kind: 'pending' }),
  );
  try {
    return await Promise.race([attempt, timer]);
  } finally {
    abort.abort();
  }
}

/** One-line description of an error, with its code when the platform attached one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    const message = error.message || error.name;
    return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}

/** The first system error code (e.g. `ECONNREFUSED`) found on an error or its causes. */
export function errorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return code;
    // AggregateError from happy-eyeballs connects keeps the real reasons in `errors`.
    const nested = (current as { errors?: unknown }).errors;
    if (Array.isArray(nested) && nested.length > 0) {
      const inner = errorCode(nested[0]);
      if (inner !== undefined) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
