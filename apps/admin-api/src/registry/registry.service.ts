import { Injectable } from '@nestjs/common';

import { toPage } from '../common/pagination.js';
import {
  type NamedRow,
  type PageRequest,
  RegistryRepository,
  type ZoneRow,
} from '../database/registry.repository.js';

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

  /** A page of rows mapped to views. */
  page<Row extends { seq: string }, T>(
    rows: readonly Row[],
    page: PageRequest,
    map: (row: Row) => T,
  ) {
    return toPage(rows, page.limit, map);
  }
}
