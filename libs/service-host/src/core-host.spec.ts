import 'reflect-metadata';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MetricsModule } from '@caracal-deploy/metrics';
import type { Registry } from 'prom-client';

import { CoreHost, type HostedCore, HostedCoreModule } from './index.js';

const CORE = Symbol('CORE');

/** A core that records what happened to it. */
class FakeCore implements HostedCore {
  readonly events: string[] = [];
  readonly http = { port: 8123 };

  constructor(readonly registry: Registry) {}

  start(): Promise<void> {
    this.events.push('start');
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.events.push('stop');
    return Promise.resolve();
  }
}

@Injectable()
class FakeCoreHost extends CoreHost<FakeCore> {
  constructor(@Inject(CORE) core: FakeCore) {
    super(core);
  }
}

@Module({
  imports: [
    MetricsModule.forRoot({ service: 'core-host-spec', host: '127.0.0.1', port: 0 }),
    HostedCoreModule.forRoot({ token: CORE, create: (registry) => new FakeCore(registry) }),
  ],
  providers: [FakeCoreHost],
})
class SpecModule {}

describe('CoreHost and HostedCoreModule', () => {
  it('builds the core with the metrics registry, starts it with the app and stops it at shutdown', async () => {
    const app = await NestFactory.createApplicationContext(SpecModule, { logger: false });
    const host = app.get(FakeCoreHost);
    try {
      assert.equal(host.core, app.get(CORE));
      assert.equal(typeof host.core.registry.metrics, 'function');
      // Creating the context initialises it: the core has started.
      assert.deepEqual(host.core.events, ['start']);
      assert.equal(host.httpPort, 8123);
    } finally {
      await app.close();
    }
    assert.deepEqual(host.core.events, ['start', 'stop']);
  });
});
