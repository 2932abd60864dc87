import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { PermissionDeniedError, UnauthenticatedError } from '@caracal-deploy/errors';

import { RegistryRepository } from '../database/registry.repository.js';
import type { ApiRequest } from '../http/http-types.js';
import { routeDefOf } from '../http/route.decorator.js';
import { bearerToken, hashApiToken } from './api-token.js';
import { isRole, roleAllows } from './roles.js';

/**
 * Authenticates `Authorization: Bearer <token>` against the stored token
 * hashes and checks the role the route demands: no or unknown token → 401,
 * a role too weak → 403. Routes without a route-table entry are refused, so a
 * handler cannot be exposed by forgetting to declare its access.
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(private readonly repository: RegistryRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const def = routeDefOf(context);
    if (def === undefined) throw new PermissionDeniedError('route has no declared access');
    if (def.access === 'public') return true;
    const request = context.switchToHttp().getRequest<ApiRequest>();
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      throw new UnauthenticatedError('missing bearer token (Authorization: Bearer <token>)');
    }
    const row = await this.repository.findActiveToken(hashApiToken(token));
    if (row === undefined || !isRole(row.role)) {
      throw new UnauthenticatedError('unknown or revoked API token');
    }
    if (!roleAllows(row.role, def.access)) {
      throw new PermissionDeniedError(
        `${def.operationId} needs role ${def.access} or higher; token "${row.name}" has ${row.role}`,
        { details: { required_role: def.access, role: row.role } },
      );
    }
    request.principal = { tokenId: row.id, name: row.name, role: row.role };
    return true;
  }
}
