import {
  RequestMapping,
  RequestMethod,
  SetMetadata,
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
} from '@nestjs/common';

import type { ApiRequest } from './http-types.js';
import { parseInput } from './request-validation.js';
import { expressPath, type HttpMethod, type RouteDef } from './route-table.js';

/** Metadata key under which a handler keeps its {@link RouteDef}. */
export const ROUTE_DEF = 'caracal:route-def';

const nestMethods: Record<HttpMethod, RequestMethod> = {
  get: RequestMethod.GET,
  post: RequestMethod.POST,
  put: RequestMethod.PUT,
  patch: RequestMethod.PATCH,
  delete: RequestMethod.DELETE,
};

/**
 * Binds a handler to route-table entries: registers the path(s) with Nest and
 * keeps the first entry for the guard and the validating parameter decorators.
 * Several entries share a handler only when method and access agree.
 */
export function Route(...defs: readonly [RouteDef, ...RouteDef[]]): MethodDecorator {
  const [first] = defs;
  for (const def of defs) {
    if (def.method !== first.method || def.access !== first.access) {
      throw new Error(`route ${def.operationId} cannot share a handler with ${first.operationId}`);
    }
  }
  return applyDecorators(
    RequestMapping({
      path: defs.map((def) => expressPath(def.path)),
      method: nestMethods[first.method],
    }),
    SetMetadata(ROUTE_DEF, first),
  );
}

/** The route-table entry of the handler serving `context`. */
export function routeDefOf(context: ExecutionContext): RouteDef | undefined {
  return Reflect.getMetadata(ROUTE_DEF, context.getHandler()) as RouteDef | undefined;
}

function requestOf(context: ExecutionContext): ApiRequest {
  return context.switchToHttp().getRequest<ApiRequest>();
}

function requireDef(context: ExecutionContext): RouteDef {
  const def = routeDefOf(context);
  if (def === undefined) throw new Error('validated parameter on a handler without @Route');
  return def;
}

/** The path parameters, parsed with the route's `params` schema. */
export const ValidParams = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const def = requireDef(context);
  return def.params === undefined ? {} : parseInput(def.params, requestOf(context).params, 'path');
});

/** The query, parsed with the route's `query` schema. */
export const ValidQuery = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const def = requireDef(context);
  return def.query === undefined ? {} : parseInput(def.query, requestOf(context).query, 'query');
});

/** The JSON body, parsed with the route's `body` schema. */
export const ValidBody = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const def = requireDef(context);
  return def.body === undefined ? undefined : parseInput(def.body, requestOf(context).body, 'body');
});

/** The authenticated caller (set by the token guard). */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext) => requestOf(context).principal,
);
