import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { GrpcModule, HealthModule } from '@caracal-deploy/grpc';
import { MetricsModule } from '@caracal-deploy/metrics';

import { serviceModules } from './index.js';

class ReadyIndicator {
  readonly name = 'ready';
  check(): Promise<string> {
    return Promise.resolve('ok');
  }
}

describe('serviceModules', () => {
  it("wires gRPC, metrics and health with the service's name and package version", () => {
    const modules = serviceModules({
      service: 'spec-service',
      packageJson: new URL('../package.json', import.meta.url),
      grpcAddress: '127.0.0.1:0',
      metricsPort: 0,
      healthIndicators: [ReadyIndicator],
    });
    assert.deepEqual(
      modules.map((module) => module.module),
      [GrpcModule, MetricsModule, HealthModule],
    );
    const health = modules[2]?.providers ?? [];
    assert.ok(health.includes(ReadyIndicator));
    assert.ok(
      health.some(
        (provider) =>
          typeof provider === 'object' &&
          'useValue' in provider &&
          JSON.stringify(provider.useValue) ===
            JSON.stringify({ service: 'spec-service', version: '0.1.0' }),
      ),
    );
  });
});
