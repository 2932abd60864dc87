import { Controller, HttpCode, Res } from '@nestjs/common';
import type { z } from 'zod';

import type {
  createNamedBody,
  createPolicyVersionBody,
  listQuery,
  uploadPackBody,
} from '../http/api.schemas.js';
import { actorOf, type ApiResponse, type Principal } from '../http/http-types.js';
import { sendJson } from '../http/reply.js';
import {
  CurrentPrincipal,
  Route,
  ValidBody,
  ValidParams,
  ValidQuery,
} from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { packContent } from '../pack/policy-pack.js';
import { RegistryService } from './registry.service.js';
import { namedView } from './registry.views.js';
import { VersionsService } from './versions.service.js';

/** Policies and their immutable versions. */
@Controller()
export class PoliciesController {
  constructor(
    private readonly registry: RegistryService,
    private readonly versions: VersionsService,
  ) {}

  @Route(routes.createPolicy)
  @HttpCode(201)
  createPolicy(
    @ValidParams() params: { zone: string },
    @ValidBody() body: z.output<typeof createNamedBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.registry.createNamed('policies', params.zone, body, actorOf(principal));
  }

  @Route(routes.listPolicies)
  listPolicies(
    @ValidParams() params: { zone: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    return this.registry.listNamed('policies', params.zone, query);
  }

  @Route(routes.getPolicy)
  async getPolicy(@ValidParams() params: { zone: string; policy: string }) {
    const { zone, policy } = await this.registry.policy(params.zone, params.policy);
    return namedView(zone.name, policy);
  }

  @Route(routes.createPolicyVersion)
  async createPolicyVersion(
    @ValidParams() params: { zone: string; policy: string },
    @ValidBody() body: z.output<typeof createPolicyVersionBody>,
    @CurrentPrincipal() principal: Principal,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const { zone, policy } = await this.registry.policy(params.zone, params.policy);
    const result = await this.versions.createPolicyVersion(
      zone,
      policy,
      body,
      'sources',
      actorOf(principal),
    );
    sendJson(response, result.created ? 201 : 200, result.body);
  }

  @Route(routes.uploadPolicyPack)
  async uploadPolicyPack(
    @ValidParams() params: { zone: string; policy: string },
    @ValidBody() body: z.output<typeof uploadPackBody>,
    @CurrentPrincipal() principal: Principal,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const { zone, policy } = await this.registry.policy(params.zone, params.policy);
    const content = packContent(body.manifest, body.files);
    const result = await this.versions.createPolicyVersion(
      zone,
      policy,
      content,
      'pack',
      actorOf(principal),
    );
    sendJson(response, result.created ? 201 : 200, result.body);
  }

  @Route(routes.listPolicyVersions)
  async listPolicyVersions(
    @ValidParams() params: { zone: string; policy: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    const { zone, policy } = await this.registry.policy(params.zone, params.policy);
    return this.versions.listPolicyVersions(zone, policy, query);
  }

  @Route(routes.getPolicyVersion)
  async getPolicyVersion(@ValidParams() params: { zone: string; policy: string; id: string }) {
    const { zone, policy } = await this.registry.policy(params.zone, params.policy);
    return this.versions.getPolicyVersion(zone, policy, params.id);
  }
}
