import { z } from 'zod';

/** What the Gateway authorizes for one HTTP method of a route. */
export interface RouteOperation {
  /** `action.id` the Gateway puts in the policy input. */
  readonly id: string;
  /** The scope the access token must carry; the input's only requested scope. */
  readonly scope: string;
}

/**
 * One Gateway route as the canary agent needs it: the prefix probes are sent
 * under, the resource the Gateway names in the policy input, and its
 * operations by method. Read from the Gateway's own route configuration.
 */
export interface GatewayRoute {
  /** Path prefix without a trailing slash (`/orders`), or `` for the root. */
  readonly prefix: string;
  readonly resource: {
    readonly identifier: string;
    readonly id: string;
    readonly type: string;
    readonly scopes: readonly string[];
  };
  /** Operations by upper-case HTTP method. */
  readonly operations: ReadonlyMap<string, RouteOperation>;
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
    prefix: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, {
      message: 'expected an absolute path prefix such as "/orders/"',
    }),
    // The Gateway's upstream; the agent never talks to it, so it is accepted and ignored.
    upstream: z.string().optional(),
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

/**
 * Zod schema of `CARACAL_CANARY_ROUTES`: the Gateway's `CARACAL_GATEWAY_ROUTES`
 * JSON array, with the Gateway's defaults (resource id = identifier, type http,
 * scopes = the operations' scopes, operation id = `"<METHOD> <prefix>"`).
 */
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
  .transform((routes) => routes.map(buildRoute));

function buildRoute(raw: z.infer<typeof routeSchema>): GatewayRoute {
  const prefix = raw.prefix.replace(/\/+$/, '');
  const operations = new Map<string, RouteOperation>();
  for (const [method, value] of Object.entries(raw.operations)) {
    const scope = typeof value === 'string' ? value : value.scope;
    const id = (typeof value === 'string' ? undefined : value.id) ?? `${method} ${prefix || '/'}`;
    operations.set(method, { id, scope });
  }
  return {
    prefix,
    resource: {
      identifier: raw.resource.identifier,
      id: raw.resource.id ?? raw.resource.identifier,
      type: raw.resource.type ?? 'http',
      scopes: raw.resource.scopes ?? [...new Set([...operations.values()].map((o) => o.scope))],
    },
    operations,
  };
}

/** The route the Gateway picks for `path`: longest prefix on whole path segments. */
export function routeOf(routes: readonly GatewayRoute[], path: string): GatewayRoute | undefined {
  return [...routes]
    .sort((a, b) => b.prefix.length - a.prefix.length)
    .find(
      (route) =>
        route.prefix === '' || path === route.prefix || path.startsWith(`${route.prefix}/`),
    );
}
