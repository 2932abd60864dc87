import { Controller, HttpCode } from '@nestjs/common';
import type { z } from 'zod';

import { RegistryRepository } from '../database/registry.repository.js';
import type { createTokenBody, listQuery } from '../http/api.schemas.js';
import { actorOf, type Principal } from '../http/http-types.js';
import {
  CurrentPrincipal,
  Route,
  ValidBody,
  ValidParams,
  ValidQuery,
} from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { toPage } from '../common/pagination.js';
import { tokenView } from '../registry/registry.views.js';
import { generateApiToken, hashApiToken } from './api-token.js';

/** API tokens, for admins: the secret is shown once and only its hash is kept. */
@Controller()
export class TokensController {
  constructor(private readonly repository: RegistryRepository) {}

  @Route(routes.createToken)
  @HttpCode(201)
  async createToken(
    @ValidBody() body: z.output<typeof createTokenBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const token = generateApiToken();
    const row = await this.repository.createToken(
      { name: body.name, role: body.role, tokenSha256: hashApiToken(token) },
      actorOf(principal),
    );
    return tokenView(row, token);
  }

  @Route(routes.listTokens)
  async listTokens(@ValidQuery() query: z.output<typeof listQuery>) {
    return toPage(await this.repository.listTokens(query), query.limit, (row) => tokenView(row));
  }

  @Route(routes.revokeToken)
  async revokeToken(
    @ValidParams() params: { id: string },
    @CurrentPrincipal() principal: Principal,
  ) {
    return tokenView(await this.repository.revokeToken(params.id, actorOf(principal)));
  }
}
