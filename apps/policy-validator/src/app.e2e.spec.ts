import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import { infraSettings } from '@caracal-deploy/testing';

import { AppModule } from './app.module.js';
import { loadValidatorConfig } from './config/validator.config.js';

/** Boots the real app on free ports and returns a typed health client for it. */
async function boot(opaBin: string): Promise<{
  app: INestApplicationContext;
  client: GrpcClient<typeof HealthService>;
}> {
  const config = loadValidatorConfig({
    CARACAL_VALIDATOR_GRPC_ADDRESS: '127.0.0.1:0',
    CARACAL_VALIDATOR_METRICS_PORT: '0',
    CARACAL_OPA_BIN: opaBin,
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: false,
  });
  const port = app.get(GrpcServerHost).port;
  return { app, client: createGrpcClient(HealthService, `127.0.0.1:${port}`) };
}

describe('policy-validator app over gRPC', () => {
  let app: INestApplicationContext;
  let client: GrpcClient<typeof HealthService>;

  before(async () => {
    ({ app, client } = await boot(infraSettings().opaBin));
  });
  after(async () => {
    client.close();
    await app.close();
  });

  it('reports SERVING with the real opa CLI and its version', async () => {
    const response = await client.check({ components: [] });
    assert.equal(response.status, ServingStatus.SERVING);
    assert.equal(response.components.length, 1);
    const [opa] = response.components;
    assert.equal(opa?.name, 'opa');
    assert.equal(opa?.outcome.case, 'healthy');
    assert.match(
      opa?.outcome.case === 'healthy' ? opa.outcome.value.detail : '',
      /^opa \d+\.\d+\.\d+/,
    );
    assert.ok(response.checkedAtUnixNanos > 2n ** 53n);
  });

  it('reports its version with build facts in a map and a 64-bit start time', async () => {
    const response = await client.getVersion({});
    assert.equal(response.service, 'policy-validator');
    assert.match(response.version, /^\d+\.\d+\.\d+/);
    assert.equal(response.build['node'], process.version);
    assert.equal(typeof response.startedAtUnixNanos, 'bigint');
    assert.ok(response.startedAtUnixNanos <= BigInt(Date.now()) * 1_000_000n);
  });

  it('names the unknown component in a typed InvalidArgument', async () => {
    await assert.rejects(client.check({ components: ['opa', 'kafka'] }), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.violations[0]?.field, 'components[1]');
      return true;
    });
  });

  it('streams the current health at once on Watch', async () => {
    for await (const message of client.watch({ components: ['opa'], intervalMillis: 200 })) {
      assert.equal(message.check?.status, ServingStatus.SERVING);
      break;
    }
  });

  it('serves its metrics endpoint', async () => {
    const port = app.get(MetricsServerHost).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(body, /process_cpu_user_seconds_total\{service="policy-validator"\}/);
  });
});

describe('policy-validator app without a working opa', () => {
  it('reports NOT_SERVING and why', async () => {
    const missing = '/nonexistent/opa';
    const { app, client } = await boot(missing);
    try {
      const response = await client.check({ components: [] });
      assert.equal(response.status, ServingStatus.NOT_SERVING);
      const [opa] = response.components;
      assert.equal(opa?.outcome.case, 'unhealthy');
      assert.match(
        opa?.outcome.case === 'unhealthy' ? opa.outcome.value.reason : '',
        /\/nonexistent\/opa/,
      );
    } finally {
      client.close();
      await app.close();
    }
  });
});
