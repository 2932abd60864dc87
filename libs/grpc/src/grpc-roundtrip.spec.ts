import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create, isMessage } from '@bufbuild/protobuf';
import {
  CanaryResult,
  CheckResponseSchema,
  Decision,
  HealthService,
  ReportProbesResponseSchema,
  ServingStatus,
  VerificationService,
  type ReportProbesResponse,
  type WatchResponse,
} from '@caracal-deploy/contracts';
import {
  CancelledError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  UnavailableError,
  UnimplementedError,
} from '@caracal-deploy/errors';

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

describe('gRPC path: bidi streaming', () => {
  /** What the handler saw of each call, keyed by the first probe id. */
  const calls = new Map<string, { received: string[]; aborted: boolean; finished: boolean }>();
  const unimplemented = () => {
    throw new UnimplementedError('not part of this test');
  };
  const implementation: ServiceImpl<typeof VerificationService> = {
    // Answers every request with one classification per report. Probe ids steer
    // the failure paths: "fail" throws a typed error, "stop" ends the call.
    async *reportProbes(requests, context) {
      let seen: { received: string[]; aborted: boolean; finished: boolean } | undefined;
      try {
        for await (const request of requests) {
          for (const report of request.reports) {
            if (!seen) {
              seen = { received: [], aborted: false, finished: false };
              calls.set(report.probeId, seen);
            }
            seen.received.push(`${report.probeId}#${report.round}`);
            if (report.probeId === 'fail')
              throw new InvalidArgumentError('bad report', {
                violations: [{ field: 'reports[0].request_id', problem: 'must not be empty' }],
              });
          }
          yield {
            classifications: request.reports.map((report) => ({
              requestId: report.requestId,
              probeId: report.probeId,
              region: report.region,
              result:
                report.observedDecision === 'allow' && report.expectedDecision === Decision.ALLOW
                  ? CanaryResult.MATCH
                  : CanaryResult.DECISION_MISMATCH,
              detail: `round ${report.round}`,
            })),
          };
          if (request.reports.some((report) => report.probeId === 'stop')) return;
          if (request.reports.some((report) => report.probeId === 'hold')) {
            // Stops reading and waits: only the call's cancellation can end this handler.
            await new Promise((resolve) =>
              context.signal.addEventListener('abort', resolve, { once: true }),
            );
          }
        }
      } finally {
        if (seen) {
          seen.aborted = context.signal.aborted;
          seen.finished = true;
        }
      }
    },
    verifyStage: unimplemented,
    getVerdict: unimplemented,
    watchVerdict: unimplemented,
  };
  const server = new GrpcServer({ address: '127.0.0.1:0' });
  let client: GrpcClient<typeof VerificationService>;

  const report = (probeId: string, round: bigint, observedDecision = 'allow') => ({
    probeId,
    round,
    requestId: `req-${probeId}-${round}`,
    region: 'eu',
    expectedDecision: Decision.ALLOW,
    observedDecision,
  });

  const collect = async (responses: AsyncIterable<ReportProbesResponse>) => {
    const seen: ReportProbesResponse[] = [];
    for await (const response of responses) seen.push(response);
    return seen;
  };

  const settled = async (probeId: string) => {
    // The handler's finally block runs after the call ends on the client; wait for it.
    while (!calls.get(probeId)?.finished) await new Promise((resolve) => setTimeout(resolve, 5));
    return calls.get(probeId)!;
  };

  before(async () => {
    server.add(VerificationService, implementation);
    const port = await server.listen();
    client = createGrpcClient(VerificationService, `127.0.0.1:${port}`);
  });

  after(async () => {
    client.close();
    await server.close();
  });

  it('answers each request on the same call and ends with OK after the client half-closes', async () => {
    const stream = client.reportProbes();
    const reading = collect(stream.responses);
    await stream.send({ reports: [report('echo', 1n)] });
    await stream.send({ reports: [report('echo', 2n, 'deny'), report('echo', 2n ** 60n)] });
    stream.end();
    const responses = await reading;

    assert.equal(responses.length, 2);
    assert.ok(responses.every((r) => isMessage(r, ReportProbesResponseSchema)));
    assert.deepEqual(
      responses.map((r) => r.classifications.map((c) => [c.requestId, c.result, c.detail])),
      [
        [['req-echo-1', CanaryResult.MATCH, 'round 1']],
        [
          ['req-echo-2', CanaryResult.DECISION_MISMATCH, 'round 2'],
          [`req-echo-${2n ** 60n}`, CanaryResult.MATCH, `round ${2n ** 60n}`],
        ],
      ],
    );
    const seen = await settled('echo');
    assert.deepEqual(seen.received, ['echo#1', 'echo#2', `echo#${2n ** 60n}`]);
    assert.equal(seen.aborted, false);
  });

  it('delivers the responses sent before a typed error, then the error with its field', async () => {
    const stream = client.reportProbes();
    await stream.send({ reports: [report('fail-after', 1n)] });
    await stream.send({ reports: [report('fail', 1n)] });
    const seen: ReportProbesResponse[] = [];
    await assert.rejects(
      (async () => {
        for await (const response of stream.responses) seen.push(response);
      })(),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.message, 'bad report');
        assert.deepEqual(error.violations, [
          { field: 'reports[0].request_id', problem: 'must not be empty' },
        ]);
        return true;
      },
    );
    assert.deepEqual(
      seen.map((r) => r.classifications[0]?.probeId),
      ['fail-after'],
    );
    await assert.rejects(stream.send({ reports: [report('late', 1n)] }), InvalidArgumentError);
  });

  it('ends the call when the server handler returns, and refuses later sends', async () => {
    const stream = client.reportProbes();
    await stream.send({ reports: [report('stop', 1n)] });
    const responses = await collect(stream.responses);
    assert.equal(responses.length, 1);
    await assert.rejects(stream.send({ reports: [report('stop', 2n)] }), FailedPreconditionError);
  });

  it('cancels on both sides: the client sees cancelled, the handler an aborted signal', async () => {
    const stream = client.reportProbes();
    const iterator = stream.responses[Symbol.asyncIterator]();
    await stream.send({ reports: [report('hold', 1n)] });
    const first = await iterator.next();
    assert.equal(first.done, false);
    stream.cancel();
    await assert.rejects(iterator.next(), CancelledError);
    const seen = await settled('hold');
    assert.equal(seen.aborted, true);
  });

  it('ends the request stream of a cancelled call, so a reading handler returns', async () => {
    const stream = client.reportProbes();
    const iterator = stream.responses[Symbol.asyncIterator]();
    await stream.send({ reports: [report('cancel', 1n)] });
    assert.equal((await iterator.next()).done, false);
    stream.cancel();
    await assert.rejects(iterator.next(), CancelledError);
    const seen = await settled('cancel');
    assert.deepEqual(seen.received, ['cancel#1']);
    await assert.rejects(stream.send({ reports: [report('cancel', 2n)] }), CancelledError);
  });

  it('cancels the call when the client leaves the response loop early', async () => {
    const stream = client.reportProbes();
    await stream.send({ reports: [report('leave', 1n)] });
    await stream.send({ reports: [report('hold', 2n)] });
    let read = 0;
    for await (const response of stream.responses) {
      assert.equal(response.classifications[0]?.probeId, 'leave');
      read += 1;
      break;
    }
    assert.equal(read, 1);
    const seen = await settled('leave');
    assert.equal(seen.aborted, true, 'the handler held by the second request saw the cancellation');
    await assert.rejects(stream.send({ reports: [report('leave', 3n)] }), CancelledError);
  });

  it('refuses a send after end()', async () => {
    const stream = client.reportProbes();
    stream.end();
    await assert.rejects(stream.send({ reports: [report('ended', 1n)] }), FailedPreconditionError);
    assert.deepEqual(await collect(stream.responses), []);
  });

  it('fails a stream to a server that is not there with unavailable', async () => {
    const closed = new GrpcServer({ address: '127.0.0.1:0' });
    closed.add(VerificationService, implementation);
    const port = await closed.listen();
    await closed.close();
    const orphan = createGrpcClient(VerificationService, `127.0.0.1:${port}`);
    try {
      const stream = orphan.reportProbes();
      stream.send({ reports: [report('orphan', 1n)] }).catch(() => undefined);
      await assert.rejects(collect(stream.responses), UnavailableError);
    } finally {
      orphan.close();
    }
  });
});
