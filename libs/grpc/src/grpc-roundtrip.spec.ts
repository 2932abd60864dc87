import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, isMessage } from '@bufbuild/protobuf';
import {
  CheckResponseSchema,
  HealthService,
  ServingStatus,
  type WatchResponse,
} from '@caracal-deploy/contracts';
import { InternalError, InvalidArgumentError, UnavailableError } from '@caracal-deploy/errors';

import { HealthChecker, type HealthIndicator } from './health.js';
import { GrpcServer, createGrpcClient, type GrpcClient, type ServiceImpl } from './index.js';

/** An indicator whose health the test flips. */
class Switch implements HealthIndicator {
  healthy = true;
  constructor(readonly name: string) {}
  check(): Promise<string | undefined> {
    return this.healthy
      ? Promise.resolve(`${this.name} ok`)
      : Promise.reject(new Error(`${this.name} is down`));
  }
}

describe('gRPC path: grpc-js + protobuf-es schemas', () => {
  const redis = new Switch('redis');
  const kafka = new Switch('kafka');
  const checker = new HealthChecker([redis, kafka]);
  const internalFailures: unknown[] = [];
  const implementation: ServiceImpl<typeof HealthService> = {
    check: (request) => checker.run(request.components),
    getVersion: () => {
      throw new TypeError('db password leaked in this message');
    },
    async *watch(request, context) {
      // Streams one check per tick until cancelled; fails on request for the error path.
      if (request.intervalMillis === 1) throw new UnavailableError('watch backend unavailable');
      while (!context.signal.aborted) {
        yield { check: await checker.run(request.components) };
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  const server = new GrpcServer({
    address: '127.0.0.1:0',
    logger: { error: (_message, error) => internalFailures.push(error) },
  });
  let client: GrpcClient<typeof HealthService>;

  before(async () => {
    server.add(HealthService, implementation);
    const port = await server.listen();
    client = createGrpcClient(HealthService, `127.0.0.1:${port}`);
  });

  after(async () => {
    client.close();
    await server.close();
  });

  it('round-trips an enum, a repeated field, a oneof and a 64-bit integer', async () => {
    redis.healthy = true;
    kafka.healthy = false;
    const before = BigInt(Date.now()) * 1_000_000n;
    const response = await client.check({ components: [] });

    assert.ok(isMessage(response, CheckResponseSchema), 'decoded into the generated schema');
    assert.equal(response.status, ServingStatus.NOT_SERVING);
    assert.deepEqual(
      response.components.map((c) => [c.name, c.outcome.case]),
      [
        ['redis', 'healthy'],
        ['kafka', 'unhealthy'],
      ],
    );
    const [healthy, unhealthy] = response.components;
    assert.equal(healthy?.outcome.case === 'healthy' && healthy.outcome.value.detail, 'redis ok');
    assert.equal(
      typeof (healthy?.outcome.case === 'healthy' && healthy.outcome.value.latencyMicros),
      'bigint',
    );
    assert.equal(
      unhealthy?.outcome.case === 'unhealthy' && unhealthy.outcome.value.reason,
      'kafka is down',
    );
    assert.equal(typeof response.checkedAtUnixNanos, 'bigint');
    assert.ok(response.checkedAtUnixNanos > 2n ** 53n, 'value beyond double precision survives');
    assert.ok(response.checkedAtUnixNanos >= before);
  });

  it('encodes exactly what protobuf-es encodes (no second message model)', async () => {
    redis.healthy = true;
    kafka.healthy = true;
    const response = await client.check({ components: ['kafka'] });
    const rebuilt = create(CheckResponseSchema, {
      status: ServingStatus.SERVING,
      components: response.components,
      checkedAtUnixNanos: response.checkedAtUnixNanos,
    });
    assert.deepEqual(response, rebuilt);
  });

  it('delivers a typed InvalidArgument with the offending field', async () => {
    await assert.rejects(client.check({ components: ['redis', 'zookeeper'] }), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.deepEqual(error.violations, [
        { field: 'components[1]', problem: 'unknown component "zookeeper"; known: redis, kafka' },
      ]);
      return true;
    });
  });

  it('hides an unexpected throw behind "internal error" and logs the cause', async () => {
    await assert.rejects(client.getVersion({}), (error: unknown) => {
      assert.ok(error instanceof InternalError);
      assert.equal(error.message, 'internal error');
      assert.doesNotMatch(error.message, /password/);
      return true;
    });
    assert.ok(internalFailures.some((e) => e instanceof TypeError));
  });

  it('streams server responses until the client stops reading', async () => {
    const seen: WatchResponse[] = [];
    for await (const message of client.watch({ components: ['redis'], intervalMillis: 0 })) {
      seen.push(message);
      if (seen.length === 3) break;
    }
    assert.equal(seen.length, 3);
    assert.ok(seen.every((m) => m.check?.components[0]?.name === 'redis'));
  });

  it('ends a stream with the typed error the handler threw', async () => {
    const iterate = async () => {
      for await (const _message of client.watch({ components: [], intervalMillis: 1 })) {
        assert.fail('no message expected');
      }
    };
    await assert.rejects(iterate(), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.equal(error.message, 'watch backend unavailable');
      return true;
    });
  });

  it('fails a call to a server that is not there with unavailable', async () => {
    const closed = new GrpcServer({ address: '127.0.0.1:0' });
    closed.add(HealthService, implementation);
    const port = await closed.listen();
    await closed.close();
    const orphan = createGrpcClient(HealthService, `127.0.0.1:${port}`, {
      defaultTimeoutMs: 2_000,
    });
    try {
      await assert.rejects(orphan.check({ components: [] }), UnavailableError);
    } finally {
      orphan.close();
    }
  });
});
