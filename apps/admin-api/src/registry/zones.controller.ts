import { Controller, HttpCode } from '@nestjs/common';
import type { z } from 'zod';

import { RegistryRepository } from '../database/registry.repository.js';
import type { createResourceBody, createZoneBody, listQuery } from '../http/api.schemas.js';
import { actorOf, type Principal } from '../http/http-types.js';
import {
  CurrentPrincipal,
  Route,
  ValidBody,
  ValidParams,
  ValidQuery,
} from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { RegistryService } from './registry.service.js';
import { resourceView, zoneView } from './registry.views.js';

/** Zones and their resource catalogs. */
@Controller()
export class ZonesController {
  constructor(
    private readonly registry: RegistryService,
    private readonly repository: RegistryRepository,
  ) {}

  @Route(routes.createZone)
  @HttpCode(201)
  async createZone(
    @ValidBody() body: z.output<typeof createZoneBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return zoneView(
      await this.repository.createZone(body.name, body.description, actorOf(principal)),
    );
  }

  @Route(routes.listZones)
  async listZones(@ValidQuery() query: z.output<typeof listQuery>) {
    return this.registry.page(await this.repository.listZones(query), query, zoneView);
  }

  @Route(routes.getZone)
  async getZone(@ValidParams() params: { zone: string }) {
    return zoneView(await this.registry.zone(params.zone));
  }

  @Route(routes.createResource)
  @HttpCode(201)
  async createResource(
    @ValidParams() params: { zone: string },
    @ValidBody() body: z.output<typeof createResourceBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const zone = await this.registry.zone(params.zone);
    const row = await this.repository.createResource(
      zone,
      {
        identifier: body.identifier,
        catalog_id: body.id,
        type: body.type,
        scopes: body.scopes,
        operations: body.operations,
      },
      actorOf(principal),
    );
    return resourceView(zone.name, row);
  }

  @Route(routes.listResources)
  async listResources(
    @ValidParams() params: { zone: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    const zone = await this.registry.zone(params.zone);
    const rows = await this.repository.listResources(zone, query);
    return this.registry.page(rows, query, (row) => resourceView(zone.name, row));
  }

  @Route(routes.getResource)
  async getResource(@ValidParams() params: { zone: string; resource: string }) {
    const zone = await this.registry.zone(params.zone);
    return resourceView(
      zone.name,
      await this.repository.resource(zone, `resource://${params.resource}`),
    );
  }
}
