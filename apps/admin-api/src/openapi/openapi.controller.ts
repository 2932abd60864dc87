import { readFileSync } from 'node:fs';
import { Controller } from '@nestjs/common';

import { Route } from '../http/route.decorator.js';
import { allRoutes, routes } from '../http/route-table.js';
import { openApiDocument } from './openapi-document.js';

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Serves the OpenAPI document generated from the route table. */
@Controller()
export class OpenApiController {
  private readonly document = openApiDocument(allRoutes, version);

  @Route(routes.getOpenApi)
  getOpenApi(): Record<string, unknown> {
    return this.document;
  }
}
