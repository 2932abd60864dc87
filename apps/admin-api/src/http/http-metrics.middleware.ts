import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { METRICS_REGISTRY } from '@caracal-deploy/metrics';
import { Counter, Histogram, type Registry } from 'prom-client';

import type { ApiRequest, ApiResponse } from './http-types.js';
import { openApiPath } from './route-table.js';

/**
 * Counts and times every HTTP request by method, route template and status.
 * The route label is the template (`/v1/zones/{zone}`), never the raw URL, so
 * names and ids in paths cannot blow up the series count.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly seconds: Histogram<'method' | 'route'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.requests = new Counter({
      name: 'caracal_admin_http_requests_total',
      help: 'HTTP requests answered by admin-api, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: 'caracal_admin_http_request_seconds',
      help: 'Time admin-api took to answer an HTTP request, by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  use(request: ApiRequest, response: ApiResponse, next: () => void): void {
    const stop = this.seconds.startTimer();
    response.once('finish', () => {
      // Express sets `route` once a handler matched; the body middleware's own
      // catch-all mount is not a route a caller asked for.
      const path = (request as { route?: { path?: unknown } }).route?.path;
      const route = typeof path === 'string' && path !== '/*path' ? openApiPath(path) : 'unmatched';
      const method = request.method ?? 'UNKNOWN';
      this.requests.inc({ method, route, status: String(response.statusCode) });
      stop({ method, route });
    });
    next();
  }
}
