import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { serviceModules } from '@caracal-deploy/service-host';

import { ActivationClient } from './activation/activation.client.js';
import { ActivationController } from './activation/activation.controller.js';
import { ApiTokenGuard } from './auth/api-token.guard.js';
import { TokensController } from './auth/tokens.controller.js';
import type { AdminConfig } from './config/admin.config.js';
import { CoreModule } from './core.module.js';
import { DeploymentClient } from './deployment/deployment.client.js';
import { DeploymentController } from './deployment/deployment.controller.js';
import { HealthController } from './health/health.controller.js';
import { PostgresHealthIndicator } from './health/postgres.health-indicator.js';
import { ValidatorHealthIndicator } from './health/validator.health-indicator.js';
import { DeployErrorFilter } from './http/deploy-error.filter.js';
import { HttpMetricsMiddleware } from './http/http-metrics.middleware.js';
import { JsonBodyMiddleware } from './http/json-body.middleware.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { BundlesController } from './registry/bundles.controller.js';
import { HistoryController } from './registry/history.controller.js';
import { ImmutableVersionsController } from './registry/immutable-versions.controller.js';
import { PoliciesController } from './registry/policies.controller.js';
import { PolicySetsController } from './registry/policy-sets.controller.js';
import { RegistryService } from './registry/registry.service.js';
import { VersionsService } from './registry/versions.service.js';
import { ZonesController } from './registry/zones.controller.js';
import { ExpectedCasesService } from './simulation/expected-cases.service.js';
import { PolicySimulationService } from './simulation/policy-simulation.service.js';
import { SimulationClient } from './simulation/simulation.client.js';
import { SimulationController } from './simulation/simulation.controller.js';

/** Root module of admin-api. */
@Module({})
export class AppModule implements NestModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: AdminConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ...serviceModules({
          service: 'admin-api',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [PostgresHealthIndicator, ValidatorHealthIndicator],
        }),
      ],
      controllers: [
        OpenApiController,
        HealthController,
        TokensController,
        ZonesController,
        PoliciesController,
        PolicySetsController,
        BundlesController,
        SimulationController,
        ActivationController,
        DeploymentController,
        HistoryController,
        ImmutableVersionsController,
      ],
      providers: [
        RegistryService,
        VersionsService,
        SimulationClient,
        ActivationClient,
        DeploymentClient,
        PolicySimulationService,
        ExpectedCasesService,
        PostgresHealthIndicator,
        ValidatorHealthIndicator,
        { provide: APP_GUARD, useClass: ApiTokenGuard },
        { provide: APP_FILTER, useClass: DeployErrorFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(HttpMetricsMiddleware, JsonBodyMiddleware)
      .forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
