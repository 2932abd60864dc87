import { Controller, HttpCode, Res } from '@nestjs/common';
import type { z } from 'zod';

import { RegistryRepository } from '../database/registry.repository.js';
import type {
  createNamedBody,
  createPolicySetVersionBody,
  listQuery,
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
import { ExpectedCasesService } from '../simulation/expected-cases.service.js';
import { RegistryService } from './registry.service.js';
import { namedView } from './registry.views.js';
import { VersionsService } from './versions.service.js';

/** Policy sets, their immutable versions and the bundles built from them. */
@Controller()
export class PolicySetsController {
  constructor(
    private readonly registry: RegistryService,
    private readonly repository: RegistryRepository,
    private readonly versions: VersionsService,
    private readonly expectedCases: ExpectedCasesService,
  ) {}

  @Route(routes.createPolicySet)
  @HttpCode(201)
  createPolicySet(
    @ValidParams() params: { zone: string },
    @ValidBody() body: z.output<typeof createNamedBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.registry.createNamed('policy_sets', params.zone, body, actorOf(principal));
  }

  @Route(routes.listPolicySets)
  listPolicySets(
    @ValidParams() params: { zone: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    return this.registry.listNamed('policy_sets', params.zone, query);
  }

  @Route(routes.getPolicySet)
  async getPolicySet(@ValidParams() params: { zone: string; set: string }) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    return namedView(zone.name, set);
  }

  @Route(routes.createPolicySetVersion)
  async createPolicySetVersion(
    @ValidParams() params: { zone: string; set: string },
    @ValidBody() body: z.output<typeof createPolicySetVersionBody>,
    @CurrentPrincipal() principal: Principal,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    const result = await this.versions.createPolicySetVersion(
      zone,
      set,
      body.policy_version_ids,
      actorOf(principal),
    );
    // A valid version runs the set's expected cases before it is answered; a failure
    // here (validator down) answers with that error, and the retry runs them again.
    const row = await this.repository.policySetVersion(set.id, result.body.id);
    const expected = await this.expectedCases.runOnVersion(zone, set, row, actorOf(principal));
    sendJson(response, result.created ? 201 : 200, { ...result.body, expected_cases: expected });
  }

  @Route(routes.listPolicySetVersions)
  async listPolicySetVersions(
    @ValidParams() params: { zone: string; set: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    return this.versions.listPolicySetVersions(zone, set, query);
  }

  @Route(routes.getPolicySetVersion)
  async getPolicySetVersion(@ValidParams() params: { zone: string; set: string; id: string }) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    const version = await this.versions.getPolicySetVersion(zone, set, params.id);
    return { ...version, expected_cases: await this.expectedCases.runView(version.id) };
  }

  @Route(routes.buildBundle)
  async buildBundle(
    @ValidParams() params: { zone: string; set: string; id: string },
    @CurrentPrincipal() principal: Principal,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    const result = await this.versions.buildBundle(zone, set, params.id, actorOf(principal));
    sendJson(response, result.created ? 201 : 200, result.body);
  }
}
