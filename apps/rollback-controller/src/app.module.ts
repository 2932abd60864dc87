import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { serviceModules } from '@caracal-deploy/service-host';

import type { RollbackConfig } from './config/rollback.config.js';
import { CoreModule } from './core.module.js';
import { CoordinatorHealthIndicator } from './health/coordinator.health-indicator.js';
import { PostgresHealthIndicator } from './health/postgres.health-indicator.js';
import { RawBodyMiddleware } from './http/raw-body.middleware.js';
import { WebhookErrorFilter } from './http/webhook-error.filter.js';
import { RollbackMetrics } from './rollback/rollback-metrics.js';
import { RollbackGrpcService } from './rollback/rollback.grpc-service.js';
import { RollbackRunner } from './rollback/rollback-runner.js';
import { AlertReceiver } from './webhooks/alert-receiver.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';

/** Root module of rollback-controller. */
@Module({})
export class AppModule implements NestModule {
  /** Wires the service from its validated configuration. */
  static forRoot(config: RollbackConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ...serviceModules({
          service: 'rollback-controller',
          packageJson: new URL('../package.json', import.meta.url),
          grpcAddress: config.grpcAddress,
          metricsPort: config.metricsPort,
          healthIndicators: [PostgresHealthIndicator, CoordinatorHealthIndicator],
        }),
      ],
      controllers: [WebhooksController],
      providers: [
        RollbackMetrics,
        RollbackRunner,
        RollbackGrpcService,
        AlertReceiver,
        { provide: APP_FILTER, useClass: WebhookErrorFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RawBodyMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
