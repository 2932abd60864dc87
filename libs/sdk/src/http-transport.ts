import { AdminApiError, errorFromAnswer, ProtocolError, UnreachableError } from './errors.js';

/** When and how often a safe request is tried again. */
export interface RetryPolicy {
  /** Total tries of one request, the first included (1 = never retry). */
  readonly attempts: number;
  /** First backoff; each retry doubles it (with full jitter). */
  readonly baseDelayMs: number;
  /** Longest backoff between two tries. */
  readonly maxDelayMs: number;
}

/** The default: four tries, 200 ms doubling up to 3 s. */
export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 3_000 };

/** How the client reaches the Admin API. */
export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8470` */
  readonly baseUrl: string;
  /** API token sent as `Authorization: Bearer …`; public routes need none. */
  readonly token?: string;
  /** Retry policy of safe requests (GETs and POSTs with an idempotency key). */
  readonly retry?: Partial<RetryPolicy>;
  /** The fetch implementation; the global one by default. */
  readonly fetch?: typeof fetch;
  /** Deadline of one non-streaming try, in ms (default 120 s: validations and rollbacks wait). */
  readonly timeoutMs?: number;
}

/** One request as the client methods describe it. */
export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Sent as the `Idempotency-Key` header; makes a POST safe to retry. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

/** A JSON answer with its status (200 vs 201 tells "existing" from "created"). */
export interface JsonAnswer<T> {
  readonly status: number;
  readonly body: T;
}

const retryableStatus = new Set([502, 503, 504]);

/** Path segment escaping for ids and names that end up in a URL. */
export const segment = (value: string): string => encodeURIComponent(value);

/**
 * The HTTP layer of the SDK: global `fetch`, bearer token, typed errors, and
 * retries only of what is safe to repeat — a GET, or a POST that carries an
 * idempotency key — on 502/503/504 or when no answer arrived.
 */
export class HttpTransport {
  private readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Sends one request and parses its JSON answer, or throws the typed error. */
  async json<T>(spec: RequestSpec): Promise<JsonAnswer<T>> {
    const response = await this.send(spec, 'application/json', true);
    const text = await response.text();
    if (text === '') return { status: response.status, body: undefined as T };
    try {
      return { status: response.status, body: JSON.parse(text) as T };
    } catch (cause) {
      throw new ProtocolError(
        `${spec.method} ${spec.path} answered ${response.status} with non-JSON`,
        {
          status: response.status,
          code: 'PROTOCOL',
          cause,
        },
      );
    }
  }

  /** Sends one request and answers the raw bytes of its body. */
  async bytes(spec: RequestSpec): Promise<Uint8Array> {
    const response = await this.send(spec, '*/*', true);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Sends one request and yields each NDJSON line; an `{"type":"error"}` line throws its typed error. */
  async *ndjson<T>(spec: RequestSpec): AsyncGenerator<T, void, undefined> {
    const response = await this.send(spec, 'application/x-ndjson', false);
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    const parse = (line: string): T => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (cause) {
        throw new ProtocolError(
          `${spec.path} streamed a line that is not JSON: ${line.slice(0, 200)}`,
          {
            status: response.status,
            code: 'PROTOCOL',
            cause,
          },
        );
      }
      const record = value as { type?: unknown };
      if (record.type === 'error')
        throw errorFromAnswer(streamErrorStatus(value), value, 'stream failed');
      return value as T;
    };
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== '') yield parse(line);
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      if (error instanceof AdminApiError) throw error;
      throw new UnreachableError(`the stream from ${spec.path} broke: ${describe(error)}`, {
        status: 0,
        code: 'UNREACHABLE',
        cause: error,
      });
    }
    const rest = (buffer + decoder.decode()).trim();
    if (rest !== '') yield parse(rest);
  }

  private async send(spec: RequestSpec, accept: string, deadline: boolean): Promise<Response> {
    const safe = spec.method === 'GET' || spec.idempotencyKey !== undefined;
    const attempts = safe ? Math.max(1, this.retry.attempts) : 1;
    const url = this.url(spec);
    let last: AdminApiError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await delay(this.backoff(attempt - 1), spec.signal);
      let response: Response;
      try {
        const signals = [spec.signal, deadline ? AbortSignal.timeout(this.timeoutMs) : undefined];
        const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
        response = await this.fetchImpl(url, {
          method: spec.method,
          headers: this.headers(spec, accept),
          ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
          signal,
        });
      } catch (error) {
        if (spec.signal?.aborted) throw error;
        last = new UnreachableError(
          `cannot reach the Admin API at ${this.baseUrl}: ${describe(error)}`,
          { status: 0, code: 'UNREACHABLE', cause: error },
        );
        continue;
      }
      if (response.ok) return response;
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      last = errorFromAnswer(
        response.status,
        body,
        `${spec.method} ${spec.path} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      );
      if (!retryableStatus.has(response.status)) throw last;
    }
    throw last ?? new UnreachableError('no attempt was made', { status: 0, code: 'UNREACHABLE' });
  }

  private url(spec: RequestSpec): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) query.set(name, String(value));
    }
    const search = query.size > 0 ? `?${query.toString()}` : '';
    return `${this.baseUrl}${spec.path}${search}`;
  }

  private headers(spec: RequestSpec, accept: string): Record<string, string> {
    return {
      accept,
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(spec.idempotencyKey === undefined ? {} : { 'idempotency-key': spec.idempotencyKey }),
    };
  }

  private backoff(retry: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (retry - 1));
    return Math.round(Math.random() * ceiling);
  }
}

/** The HTTP status a streamed error line stands for, from its code. */
function streamErrorStatus(line: unknown): number {
  const code = (line as { error?: { code?: unknown } }).error?.code;
  const byCode: Record<string, number> = {
    invalid_argument: 400,
    unauthenticated: 401,
    permission_denied: 403,
    not_found: 404,
    already_exists: 409,
    failed_precondition: 409,
    aborted: 409,
    resource_exhausted: 413,
    unavailable: 503,
    deadline_exceeded: 504,
  };
  return typeof code === 'string' ? (byCode[code] ?? 500) : 500;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error.message;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
