import { readFileSync } from 'node:fs';

import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { METRICS_REGISTRY, MetricsModule } from '@caracal-deploy/metrics';
import type { Registry } from 'prom-client';

import { CANARY_AGENT, CanaryAgent, type AgentInputs } from './canary-agent.js';
import type { CanaryConfig } from './config/canary.config.js';
import {
  AggregatorHealthIndicator,
  GatewayHealthIndicator,
} from './health/canary.health-indicators.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/** Starts the canary agent with the app and stops it at shutdown. */
@Injectable()
export class CanaryAgentHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(CANARY_AGENT) readonly agent: CanaryAgent) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.agent.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.agent.stop();
  }
}

/** Provides the {@link CanaryAgent} to the whole app (the health indicators included). */
@Module({})
export class CanaryAgentModule {
  /** Builds the agent from the validated configuration and its inputs. */
  static forRoot(config: CanaryConfig, inputs: AgentInputs): DynamicModule {
    return {
      module: CanaryAgentModule,
      global: true,
      providers: [
        {
          provide: CANARY_AGENT,
          inject: [METRICS_REGISTRY],
          useFactory: (registry: Registry) =>
            new CanaryAgent(config, inputs, registry, new Logger('canary-agent')),
        },
      ],
      exports: [CANARY_AGENT],
    };
  }
}

/** Root module of the canary agent: the agent, its `/metrics` endpoint and the gRPC HealthService. */
@Module({})
export class AppModule {
  /** Wires the agent from its validated configuration and the inputs read from its files. */
  static forRoot(config: CanaryConfig, inputs: AgentInputs): DynamicModule {
    return {
      module: AppModule,
      imports: [
        MetricsModule.forRoot({ service: 'canary-agent', port: config.metricsPort }),
        CanaryAgentModule.forRoot(config, inputs),
        GrpcModule.forRoot({ address: config.grpcAddress }),
        HealthModule.forRoot({
          info: { service: 'canary-agent', version },
          indicators: [GatewayHealthIndicator, AggregatorHealthIndicator],
          indicatorTokens: [GatewayHealthIndicator, AggregatorHealthIndicator],
        }),
      ],
      providers: [CanaryAgentHost],
    };
  }
}
