import { Controller } from '@nestjs/common';
import type { z } from 'zod';

import { toPage } from '../common/pagination.js';
import { RegistryRepository } from '../database/registry.repository.js';
import type { historyQuery } from '../http/api.schemas.js';
import { Route, ValidQuery } from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { historyView } from './registry.views.js';

/** Who created what, newest first. */
@Controller()
export class HistoryController {
  constructor(private readonly repository: RegistryRepository) {}

  @Route(routes.listHistory)
  async listHistory(@ValidQuery() query: z.output<typeof historyQuery>) {
    const rows = await this.repository.listHistory(
      { zone: query.zone, entityKind: query.entity_kind },
      query,
    );
    return toPage(rows, query.limit, historyView);
  }
}
