import { z } from 'zod';

/** What the Gateway authorizes for one HTTP method of a route. */
export interface Operation {
  /** `action.id` in the policy input, e.g. `orders.read`. */
  readonly id: string;
  /** Scope the access token must carry; also the decision's `requested_scopes`. */
  readonly scope: string;
}

/** The protected resource a route fronts, as the policy input names it. */
export interface RouteResource {
  readonly identifier: string;
  readonly id: string;
  readonly type: string;
  readonly scopes: readonly string[];
}

/** One configured route: a path prefix, its upstream, its resource and its operations by method. */
export interface Route {
  /** Normalized path prefix without a trailing slash (`/orders`), or `` for the root. */
  readonly prefix: string;
  /** Upstream origin and base path; the prefix is replaced by the base path. */
  readonly upstream: URL;
  readonly resource: RouteResource;
  /** Operations by upper-case HTTP method. */
  readonly operations: ReadonlyMap<string, Operation>;
}

const methodName = z
  .string()
  .regex(/^[A-Z]+$/, { message: 'expected an upper-case HTTP method, e.g. "GET"' });
const scopeName = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, {
  message: 'expected a scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)',
});
const operationSchema = z.union([
  scopeName,
  z.object({ id: z.string().min(1).optional(), scope: scopeName }).strict(),
]);

const routeSchema = z
  .object({
    prefix: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, {
        message: 'expected an absolute path prefix such as "/orders/"',
      })
      .refine(
        (prefix) => !prefix.split('/').some((segment) => segment === '.' || segment === '..'),
        {
          message: 'expected no "." or ".." segments',
        },
      ),
    upstream: z.string().refine(
      (value) => {
        try {
          const url = new URL(value);
          return url.protocol === 'http:' && url.search === '' && url.hash === '';
        } catch {
          return false;
        }
      },
      { message: 'expected an http:// URL without query or fragment' },
    ),
    resource: z
      .object({
        identifier: z.string().min(1),
        id: z.string().min(1).optional(),
        type: z.string().min(1).optional(),
        scopes: z.array(scopeName).optional(),
      })
      .strict(),
    operations: z
      .record(methodName, operationSchema)
      .refine((operations) => Object.keys(operations).length > 0, {
        message: 'expected at least one method',
      }),
  })
  .strict();

/** Zod schema of `CARACAL_GATEWAY_ROUTES`: a JSON array of routes (see the app README). */
export const routesSchema = z
  .string()
  .default('[]')
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      context.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
  })
  .pipe(z.array(routeSchema))
  .transform((routes, context) => {
    const built = routes.map(buildRoute);
    const seen = new Set<string>();
    for (const route of built) {
      if (seen.has(route.prefix)) {
        context.addIssue({
          code: 'custom',
          message: `prefix ${JSON.stringify(route.prefix || '/')} is configured twice`,
        });
      }
      seen.add(route.prefix);
    }
    return built;
  });

function buildRoute(raw: z.infer<typeof routeSchema>): Route {
  const prefix = trimSlash(raw.prefix);
  const operations = new Map<string, Operation>();
  for (const [method, value] of Object.entries(raw.operations)) {
    const scope = typeof value === 'string' ? value : value.scope;
    const id = (typeof value === 'string' ? undefined : value.id) ?? `${method} ${prefix || '/'}`;
    operations.set(method, { id, scope });
  }
  const offered = raw.resource.scopes ?? [...new Set([...operations.values()].map((o) => o.scope))];
  return {
    prefix,
    upstream: new URL(raw.upstream),
    resource: {
      identifier: raw.resource.identifier,
      id: raw.resource.id ?? raw.resource.identifier,
      type: raw.resource.type ?? 'http',
      scopes: offered,
    },
    operations,
  };
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * Why a request path is refused before routing: dot segments, encoded slashes,
 * dots or backslashes could make the upstream resolve a path outside the route
 * the decision was made for. Returns undefined for a safe path.
 */
export function unsafePathReason(path: string): string | undefined {
  if (!path.startsWith('/')) return 'the request target must be an absolute path';
  if (/%(2e|2f|5c|00)/i.test(path)) return 'encoded ".", "/", "\\" or NUL in the path';
  if (path.includes('\\')) return 'backslash in the path';
  // `..;x` is `..` to servers that strip path parameters (e.g. Tomcat).
  const dotSegment = (segment: string) => /^\.\.?(;.*)?$/.test(segment);
  if (path.split('/').some(dotSegment)) return '"." or ".." segment in the path';
  return undefined;
}

/** Splits a raw request target into path and query (`?…`, possibly empty). */
export function splitTarget(target: string): { path: string; query: string } {
  const index = target.indexOf('?');
  return index < 0
    ? { path: target, query: '' }
    : { path: target.slice(0, index), query: target.slice(index) };
}

/** Longest-prefix routing on whole path segments (`/orders` matches `/orders` and `/orders/…`, not `/ordersx`). */
export class RouteTable {
  private readonly routes: readonly Route[];

  constructor(routes: readonly Route[]) {
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route serving `path` (no query), if any. */
  match(path: string): Route | undefined {
    return this.routes.find(
      (route) =>
        route.prefix === '' || path === route.prefix || path.startsWith(`${route.prefix}/`),
    );
  }

  /** Every route, longest prefix first. */
  get all(): readonly Route[] {
    return this.routes;
  }
}

/** The upstream request path: the route prefix replaced by the upstream's base path, query kept. */
export function upstreamPath(route: Route, path: string, query: string): string {
  const base = trimSlash(route.upstream.pathname);
  const rest = path.slice(route.prefix.length);
  const joined = `${base}${rest}`;
  return `${joined.startsWith('/') ? joined : `/${joined}`}${query}`;
}
