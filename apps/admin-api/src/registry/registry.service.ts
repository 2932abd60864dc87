import { Injectable } from '@nestjs/common';

import { toPage } from '../common/pagination.js';
import {
  type NamedRow,
  type PageRequest,
  RegistryRepository,
  type ZoneRow,
} from '../database/registry.repository.js';
import { namedView } from './registry.views.js';

/** The tables of the zone-scoped named entities: policies and policy sets. */
type NamedTable = 'policies' | 'policy_sets';

/** Lookups of the entities addressed by path segments, shared by the controllers. */
@Injectable()
export class RegistryService {
  constructor(readonly repository: RegistryRepository) {}

  /** The zone named in the path, or 404. */
  zone(name: string): Promise<ZoneRow> {
    return this.repository.zone(name);
  }

  /** The zone and its policy named in the path, or 404. */
  async policy(zoneName: string, name: string): Promise<{ zone: ZoneRow; policy: NamedRow }> {
    const zone = await this.repository.zone(zoneName);
    return { zone, policy: await this.repository.named('policies', zone, name) };
  }

  /** The zone and its policy set named in the path, or 404. */
  async policySet(zoneName: string, name: string): Promise<{ zone: ZoneRow; set: NamedRow }> {
    const zone = await this.repository.zone(zoneName);
    return { zone, set: await this.repository.named('policy_sets', zone, name) };
  }

  /** Creates a policy or policy set in the zone named in the path; answers its view. */
  async createNamed(
    table: NamedTable,
    zoneName: string,
    body: { readonly name: string; readonly description: string },
    actor: string,
  ) {
    const zone = await this.repository.zone(zoneName);
    const row = await this.repository.createNamed(table, zone, body.name, body.description, actor);
    return namedView(zone.name, row);
  }

  /** A page of the policies or policy sets of the zone named in the path. */
  async listNamed(table: NamedTable, zoneName: string, query: PageRequest) {
    const zone = await this.repository.zone(zoneName);
    const rows = await this.repository.listNamed(table, zone, query);
    return this.page(rows, query, (row) => namedView(zone.name, row));
  }

  /** A page of rows mapped to views. */
  page<Row extends { seq: string }, T>(
    rows: readonly Row[],
    page: PageRequest,
    map: (row: Row) => T,
  ) {
    return toPage(rows, page.limit, map);
  }
}
