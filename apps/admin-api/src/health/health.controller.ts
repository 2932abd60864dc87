import { Controller, Res } from '@nestjs/common';
import { type ComponentCheck, ServingStatus } from '@caracal-deploy/contracts';
import { HealthChecker } from '@caracal-deploy/grpc';

import type { ApiResponse } from '../http/http-types.js';
import { sendJson } from '../http/reply.js';
import { Route } from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { PostgresHealthIndicator } from './postgres.health-indicator.js';
import { ValidatorHealthIndicator } from './validator.health-indicator.js';

/** The same checks as the gRPC HealthService, over HTTP for load balancers and humans. */
@Controller()
export class HealthController {
  private readonly checker: HealthChecker;

  constructor(postgres: PostgresHealthIndicator, validator: ValidatorHealthIndicator) {
    this.checker = new HealthChecker([postgres, validator]);
  }

  @Route(routes.getHealth)
  async getHealth(@Res() response: ApiResponse): Promise<void> {
    const result = await this.checker.run([]);
    const components = (result.components ?? []) as ComponentCheck[];
    const serving = result.status === ServingStatus.SERVING;
    sendJson(response, serving ? 200 : 503, {
      status: serving ? 'serving' : 'not_serving',
      components: components.map((component) =>
        component.outcome.case === 'healthy'
          ? { name: component.name, healthy: true, detail: component.outcome.value.detail }
          : {
              name: component.name,
              healthy: false,
              reason: component.outcome.case === 'unhealthy' ? component.outcome.value.reason : '',
            },
      ),
    });
  }
}
