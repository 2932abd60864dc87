import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  CanaryResult,
  Decision,
  VerificationService,
  type ProbeClassification,
} from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import { freePort, waitFor } from '@caracal-deploy/testing';

import { observation } from '../rounds/test-observation.test-support.js';
import { AggregatorLink } from './aggregator-link.js';
import { ReportBuffer } from './report-buffer.js';
import { StandInAggregator } from './stand-in-aggregator.test-support.js';

describe('AggregatorLink against a real gRPC ReportProbes server', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('holds reports while the aggregator is down and delivers every one once it is up', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const client = createGrpcClient(VerificationService, address);
    cleanup.push(() => client.close());
    const buffer = new ReportBuffer(100);
    const classified: ProbeClassification[] = [];
    const states: boolean[] = [];
    const link = new AggregatorLink({
      open: () => client.reportProbes(),
      buffer,
      agent: { agentId: 'agent-1', region: 'eu' },
      maxInFlight: 100,
      batchSize: 2,
      reconnect: { minMs: 20, maxMs: 100 },
      classified: (classification) => classified.push(classification),
      connected: (up) => states.push(up),
    });
    cleanup.push(() => link.stop());
    link.start();
    buffer.push(
      observation('r1'),
      observation('r2', { observedDecision: 'deny' }),
      observation('r3'),
    );
    link.notify();

    // Nothing listens: the reports stay held (in the buffer or in flight), none is lost.
    await waitFor(() => (buffer.size + link.inFlightCount === 3 ? true : undefined), {
      timeoutMs: 5_000,
      description: 'three reports held',
    });
    assert.equal(classified.length, 0);
    assert.equal(link.connected, false);

    const aggregator = new StandInAggregator();
    await aggregator.listen(port);
    cleanup.push(() => aggregator.close());
    await waitFor(() => (classified.length >= 3 ? true : undefined), {
      timeoutMs: 20_000,
      description: 'three classifications after the aggregator came up',
    });
    assert.deepEqual(classified.map((c) => [c.requestId, c.result]).sort(), [
      ['r1', CanaryResult.MATCH],
      ['r2', CanaryResult.DECISION_MISMATCH],
      ['r3', CanaryResult.MATCH],
    ]);
    const report = aggregator.received.find((r) => r.requestId === 'r1')!;
    assert.equal(report.agentId, 'agent-1');
    assert.equal(report.region, 'eu');
    assert.equal(report.round, 1n);
    assert.equal(report.expectedDecision, Decision.ALLOW);
    assert.equal(report.observedRevision, 'rev-1');
    assert.equal(buffer.size + link.inFlightCount, 0);
    assert.equal(link.connected, true);
    assert.deepEqual(states, [true]);

    // The aggregator restarts: reports made meanwhile arrive after it is back.
    await aggregator.close();
    buffer.push(observation('r4'));
    link.notify();
    await waitFor(() => (link.connected ? undefined : true), {
      timeoutMs: 10_000,
      description: 'the link to notice the aggregator is gone',
    });
    const again = new StandInAggregator();
    await again.listen(port);
    cleanup.push(() => again.close());
    await waitFor(() => (classified.some((c) => c.requestId === 'r4') ? true : undefined), {
      timeoutMs: 20_000,
      description: 'r4 classified by the restarted aggregator',
    });
    assert.ok(again.received.some((r) => r.requestId === 'r4'));
  });
});
