import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { INestApplicationContext } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationState,
  CanaryResult,
  Decision,
  HealthService,
  type ProbeClassification,
  type ProbeReport,
  type ProbeReportSchema,
  ServingStatus,
  type Verdict,
  VerdictState,
  VerificationService,
  type VerificationGatesSchema,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@caracal-deploy/errors';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { MetricsServerHost } from '@caracal-deploy/metrics';
import {
  assertReachable,
  createTestDatabase,
  createTestTopic,
  infraSettings,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';
import {
  ActivationStandIn,
  CannedActivations,
  convergedActivation,
  type CannedActivation,
} from '@caracal-deploy/stand-ins';

import { loadVerifierConfig } from './config/verifier.config.js';
import { AuditEventWriter } from './test-support/audit-events.js';
import { createVerifierApp } from './verifier-app.js';

const settings = infraSettings();

type Report = MessageInitShape<typeof ProbeReportSchema>;
type Gates = MessageInitShape<typeof VerificationGatesSchema>;

/** One aggregator replica booted in this process. */
interface Replica {
  readonly app: INestApplicationContext;
  readonly client: GrpcClient<typeof VerificationService>;
  readonly metricsUrl: string;
}

/** A stage under test: its zone, activation, revision and regions. */
interface StageFixture {
  readonly deploymentId: string;
  readonly stage: string;
  readonly zoneId: string;
  readonly revision: string;
  readonly policySetVersionId: string;
  readonly regions: string[];
  readonly activation: CannedActivation;
}

describe('verification-aggregator with Kafka, PostgreSQL and an ActivationService stand-in', () => {
  let database: TestDatabase;
  let topic: TestTopic;
  let canned: CannedActivations;
  let coordinator: ActivationStandIn;
  let audit: AuditEventWriter;
  let replica: Replica;
  const replicas: Replica[] = [];

  /** Boots a replica; `auditTopic` other than the test topic plays a replica that cannot follow it. */
  async function boot(auditTopic = topic.topic): Promise<Replica> {
    const following = auditTopic === topic.topic;
    const config = loadVerifierConfig({
      CARACAL_VERIFIER_POSTGRES_URL: database.url,
      CARACAL_VERIFIER_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_VERIFIER_METRICS_PORT: '0',
      CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.address,
      CARACAL_VERIFIER_COORDINATOR_TIMEOUT_MS: '2000',
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: auditTopic,
      CARACAL_VERIFIER_AUDIT_JOIN_DEADLINE_MS: '1500',
      CARACAL_VERIFIER_EVALUATE_INTERVAL_MS: '200',
      CARACAL_VERIFIER_WATCH_POLL_MS: '200',
    });
    const app = await createVerifierApp(config, { logger: ['error', 'warn'] });
    const address = `127.0.0.1:${app.get(GrpcServerHost).port}`;
    const health = createGrpcClient(HealthService, address, { defaultTimeoutMs: 2_000 });
    try {
      // SERVING once the audit consumer joined its group: events written from now on are seen.
      // A replica that cannot follow its topic reports kafka unhealthy instead.
      await waitFor(
        async () => {
          const result = await health.check({ components: [] });
          if (following) return result.status === ServingStatus.SERVING ? true : undefined;
          const kafka = result.components.find((c) => c.name === 'kafka');
          return kafka?.outcome.case === 'unhealthy' &&
            result.components.some((c) => c.name === 'postgres' && c.outcome.case === 'healthy')
            ? true
            : undefined;
        },
        { timeoutMs: 60_000, description: 'the aggregator to report its health' },
      );
    } finally {
      health.close();
    }
    const booted = {
      app,
      client: createGrpcClient(VerificationService, address),
      metricsUrl: `http://127.0.0.1:${app.get(MetricsServerHost).port}/metrics`,
    };
    replicas.push(booted);
    return booted;
  }

  async function shutDown(target: Replica): Promise<void> {
    target.client.close();
    await target.app.close();
    replicas.splice(replicas.indexOf(target), 1);
  }

  function fixture(regions = ['eu', 'us']): StageFixture {
    const zoneId = uniqueName('zone').replaceAll('_', '-');
    const revision = randomBytes(32).toString('hex');
    const policySetVersionId = `${zoneId}-v2`;
    const activation = canned.set(
      convergedActivation({
        activationId: `${zoneId}-activation`,
        zoneId,
        policySetVersionId,
        revision,
        regions,
      }),
    );
    return {
      deploymentId: `${zoneId}-deployment`,
      stage: 'canary',
      zoneId,
      revision,
      policySetVersionId,
      regions,
      activation,
    };
  }

  function verify(target: Replica, stage: StageFixture, gates: Gates) {
    return target.client.verifyStage({
      deploymentId: stage.deploymentId,
      stage: stage.stage,
      zones: [{ zoneId: stage.zoneId, activationId: stage.activation.activationId }],
      policySetVersionId: stage.policySetVersionId,
      revision: `sha256:${stage.revision}`,
      regions: stage.regions,
      gates,
    });
  }

  function report(
    stage: StageFixture,
    region: string,
    round: number,
    overrides: Partial<
      Pick<ProbeReport, 'observedDecision' | 'httpStatus' | 'transportError' | 'observedRevision'>
    > = {},
  ): Report {
    return {
      agentId: `agent-${region}`,
      region,
      probeId: 'read-orders',
      round: BigInt(round),
      requestId: uniqueName('req'),
      zoneId: stage.zoneId,
      expectedDecision: Decision.ALLOW,
      httpStatus: 200,
      observedDecision: 'allow',
      decisionId: 'decision',
      observedRevision: stage.revision,
      latencyMs: 3,
      sentAtUnixMillis: BigInt(Date.now()),
      ...overrides,
    };
  }

  /** The audit event the STS writes for a probe that went as expected. */
  function auditOf(stage: StageFixture, probe: Report) {
    return {
      requestId: probe.requestId ?? '',
      zoneId: stage.zoneId,
      decision: 'allow' as const,
      revision: stage.revision,
      policySetVersionId: stage.policySetVersionId,
    };
  }

  /** Sends the reports on one ReportProbes stream and collects every classification. */
  async function send(target: Replica, reports: Report[]): Promise<ProbeClassification[]> {
    const stream = target.client.reportProbes();
    const collected: ProbeClassification[] = [];
    const reading = (async () => {
      for await (const response of stream.responses) collected.push(...response.classifications);
    })();
    await stream.send({ reports });
    stream.end();
    await reading;
    return collected;
  }

  /** Follows WatchVerdict to its end; returns every verdict streamed. */
  async function watch(target: Replica, stage: StageFixture): Promise<Verdict[]> {
    const seen: Verdict[] = [];
    for await (const message of target.client.watchVerdict({
      deploymentId: stage.deploymentId,
      stage: stage.stage,
    })) {
      if (message.verdict) seen.push(message.verdict);
    }
    return seen;
  }

  function row(verdict: Verdict | undefined, check: string) {
    const found = verdict?.rows.find((r) => r.check === check);
    assert.ok(found, `row ${check} in ${JSON.stringify(verdict?.rows.map((r) => r.check))}`);
    return found;
  }

  async function gauge(target: Replica, stage: StageFixture): Promise<number | undefined> {
    const text = await (await fetch(target.metricsUrl)).text();
    const line = text
      .split('\n')
      .find(
        (candidate) =>
          candidate.startsWith('caracal_verification_verdict{') &&
          candidate.includes(`zone="${stage.zoneId}"`) &&
          candidate.includes(`stage="${stage.stage}"`),
      );
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('kafka', settings);
    database = await createTestDatabase(settings);
    topic = await createTestTopic(settings.kafkaBrokers);
    canned = new CannedActivations();
    coordinator = new ActivationStandIn(canned.handlers);
    await coordinator.listen();
    audit = new AuditEventWriter(settings.kafkaBrokers, topic.topic);
    replica = await boot();
  });

  after(async () => {
    for (const booted of [...replicas]) await shutDown(booted);
    await audit?.close();
    await coordinator?.close();
    await topic?.delete();
    await database?.drop();
  });

  it('classifies a probe joined to its audit event as a match, whichever arrives first', async () => {
    const stage = fixture();
    const early = report(stage, 'eu', 1);
    await audit.write(auditOf(stage, early));
    const late = report(stage, 'eu', 2);
    const lateAnswer = send(replica, [late]);
    await audit.write(auditOf(stage, late));
    const answers = [...(await send(replica, [early])), ...(await lateAnswer)];
    assert.deepEqual(
      answers.map((a) => [a.requestId, a.result]),
      [
        [early.requestId, CanaryResult.MATCH],
        [late.requestId, CanaryResult.MATCH],
      ],
      JSON.stringify(answers),
    );
  });

  it('answers a decision mismatch and fails the stage on it', async () => {
    const stage = fixture();
    const first = await verify(replica, stage, { minProbeRoundsPerRegion: 2, timeoutSeconds: 60 });
    assert.equal(first.verdict?.state, VerdictState.PENDING);
    const flipped = report(stage, 'us', 1, { observedDecision: 'deny', httpStatus: 403 });
    const [answer] = await send(replica, [flipped]);
    assert.equal(answer?.result, CanaryResult.DECISION_MISMATCH);
    assert.equal(answer?.detail, 'gateway decision deny, expected allow');
    const verdicts = await watch(replica, stage);
    const last = verdicts.at(-1);
    assert.equal(last?.state, VerdictState.FAIL);
    assert.equal(row(last, 'gateway_behaviour').state, VerdictState.FAIL);
    assert.match(
      row(last, 'gateway_behaviour').evidence,
      new RegExp(`request ${flipped.requestId}`),
    );
    assert.ok((last?.decidedAtUnixMillis ?? 0n) > 0n);
    await waitFor(async () => ((await gauge(replica, stage)) === -1 ? true : undefined), {
      timeoutMs: 5_000,
      description: 'caracal_verification_verdict to be -1',
    });
  });

  it('answers audit_missing when the audit stalls, and the stage fails, never passes', async () => {
    const stage = fixture(['eu']);
    await verify(replica, stage, { minProbeRoundsPerRegion: 1, timeoutSeconds: 60 });
    // The Gateway answered as expected, but no audit event is ever written.
    const [answer] = await send(replica, [report(stage, 'eu', 1)]);
    assert.equal(answer?.result, CanaryResult.AUDIT_MISSING);
    const verdicts = await watch(replica, stage);
    assert.ok(
      verdicts.every((v) => v.state !== VerdictState.PASS),
      'never passes',
    );
    const last = verdicts.at(-1);
    assert.equal(last?.state, VerdictState.FAIL);
    assert.equal(row(last, 'canary_audit').state, VerdictState.FAIL);
    assert.match(row(last, 'canary_audit').evidence, /1 probes without audit event/);
  });

  it('fails the stage when a replica serves the old revision', async () => {
    const stage = fixture(['eu']);
    stage.activation.replicas = [
      ...stage.activation.replicas.slice(0, 1),
      { replicaId: 'sts-stuck', region: 'eu', revision: 'f'.repeat(64), confirmedAgoMs: 1_000 },
    ];
    await verify(replica, stage, { timeoutSeconds: 60 });
    const last = (await watch(replica, stage)).at(-1);
    assert.equal(last?.state, VerdictState.FAIL);
    const converged = row(last, 'replicas_converged');
    assert.equal(converged.state, VerdictState.FAIL);
    assert.match(converged.evidence, /sts-stuck \(eu\) serves f{64}/);
  });

  it('answers revision_mismatch for a probe decided by the old revision, and the stage fails', async () => {
    const stage = fixture(['eu']);
    await verify(replica, stage, { timeoutSeconds: 60 });
    const old = 'e'.repeat(64);
    const probe = report(stage, 'eu', 1, { observedRevision: old });
    await audit.write({ ...auditOf(stage, probe), revision: old });
    const [answer] = await send(replica, [probe]);
    assert.equal(answer?.result, CanaryResult.REVISION_MISMATCH);
    assert.equal(answer?.detail, `gateway revision ${old}, expected ${stage.revision}`);
    const last = (await watch(replica, stage)).at(-1);
    assert.equal(last?.state, VerdictState.FAIL);
    assert.equal(row(last, 'gateway_behaviour').details['revision_mismatch'], '1');
  });

  it('keeps a stage whose region never reports pending, then fails it at the timeout', async () => {
    const stage = fixture(['eu', 'ap']);
    await verify(replica, stage, { minProbeRoundsPerRegion: 1, timeoutSeconds: 3 });
    const probe = report(stage, 'eu', 1);
    await audit.write(auditOf(stage, probe));
    assert.equal((await send(replica, [probe]))[0]?.result, CanaryResult.MATCH);
    const verdicts = await watch(replica, stage);
    assert.equal(verdicts[0]?.state, VerdictState.PENDING);
    const last = verdicts.at(-1);
    assert.equal(last?.state, VerdictState.FAIL);
    const gateway = row(last, 'gateway_behaviour');
    assert.equal(gateway.state, VerdictState.FAIL);
    assert.match(gateway.evidence, /^no complete evidence after 3 s: .*ap 0\/1/);
    assert.equal(gateway.details['eu'], '1/1 rounds');
    assert.equal(row(last, 'replicas_converged').state, VerdictState.PASS);
  });

  it('passes a good stage after its bake time, with evidence in every row', async () => {
    const stage = fixture(['eu', 'us']);
    await verify(replica, stage, {
      minProbeRoundsPerRegion: 2,
      bakeSeconds: 1,
      timeoutSeconds: 60,
    });
    const probes = ['eu', 'us'].flatMap((region) =>
      [1, 2].map((round) => report(stage, region, round)),
    );
    await audit.write(...probes.map((probe) => auditOf(stage, probe)));
    const answers = await send(replica, probes);
    assert.deepEqual(
      answers.map((a) => a.result),
      probes.map(() => CanaryResult.MATCH),
    );
    const verdicts = await watch(replica, stage);
    const last = verdicts.at(-1);
    assert.equal(last?.state, VerdictState.PASS, JSON.stringify(last?.rows));
    assert.deepEqual(
      last?.rows.map((r) => [r.check, r.state]),
      [
        ['activation_accepted', VerdictState.PASS],
        ['replicas_converged', VerdictState.PASS],
        ['policy_age', VerdictState.PASS],
        ['canary_audit', VerdictState.PASS],
        ['gateway_behaviour', VerdictState.PASS],
      ],
    );
    assert.equal(row(last, 'canary_audit').details['audit_joined'], '4');
    assert.ok(
      (last?.decidedAtUnixMillis ?? 0n) - (last?.startedAtUnixMillis ?? 0n) >= 1_000n,
      'not before the bake time',
    );
    const again = await replica.client.getVerdict({
      deploymentId: stage.deploymentId,
      stage: 'canary',
    });
    assert.equal(again.verdict?.state, VerdictState.PASS);
    await waitFor(async () => ((await gauge(replica, stage)) === 1 ? true : undefined), {
      timeoutMs: 5_000,
      description: 'caracal_verification_verdict to be 1',
    });
  });

  it('resumes a stage mid-bake after a restart, from the stored evidence', async () => {
    const gates = { minProbeRoundsPerRegion: 2, bakeSeconds: 1, timeoutSeconds: 60 };
    const stage = fixture(['eu']);
    const started = await verify(replica, stage, gates);
    // Round 1 reaches the first process; round 2, the one the pass needs, only the second.
    const first = report(stage, 'eu', 1);
    await audit.write(auditOf(stage, first));
    assert.deepEqual(
      (await send(replica, [first])).map((a) => a.result),
      [CanaryResult.MATCH],
    );
    // A stage failed before the restart keeps alerting after it.
    const failed = fixture(['eu']);
    await verify(replica, failed, { timeoutSeconds: 60 });
    await send(replica, [report(failed, 'eu', 1, { observedDecision: 'deny' })]);
    assert.equal((await watch(replica, failed)).at(-1)?.state, VerdictState.FAIL);

    await shutDown(replica);
    replica = await boot();

    assert.equal(await gauge(replica, failed), -1, 'the failed verdict is exported again');
    const resumed = await replica.client.getVerdict({
      deploymentId: stage.deploymentId,
      stage: stage.stage,
    });
    assert.equal(resumed.verdict?.state, VerdictState.PENDING);
    assert.equal(resumed.verdict?.startedAtUnixMillis, started.verdict?.startedAtUnixMillis);
    assert.equal(row(resumed.verdict, 'canary_audit').details['eu'], '1/2 rounds');

    const second = report(stage, 'eu', 2);
    await audit.write(auditOf(stage, second));
    assert.deepEqual(
      (await send(replica, [second])).map((a) => a.result),
      [CanaryResult.MATCH],
    );
    const last = (await watch(replica, stage)).at(-1);
    assert.equal(last?.state, VerdictState.PASS, JSON.stringify(last?.rows));
    assert.equal(row(last, 'canary_audit').details['eu'], '2/2 rounds', 'round 1 was kept');
    assert.equal(last?.startedAtUnixMillis, started.verdict?.startedAtUnixMillis, 'same start');
    const repeated = await verify(replica, stage, gates);
    assert.equal(
      repeated.verdict?.state,
      VerdictState.PASS,
      'VerifyStage again: the stored verdict',
    );
  });

  it('refuses a bad request naming the field, and an unknown stage with NOT_FOUND', async () => {
    await assert.rejects(
      replica.client.verifyStage({
        deploymentId: 'd',
        stage: 's',
        zones: [],
        revision: 'nope',
        regions: ['eu'],
      }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(
          error.violations.map((v) => v.field),
          ['zones', 'revision'],
        );
        return true;
      },
    );
    await assert.rejects(
      replica.client.getVerdict({ deploymentId: 'no-such-deployment', stage: 'canary' }),
      NotFoundError,
    );
    const stream = replica.client.reportProbes();
    const reading = (async () => {
      for await (const _response of stream.responses) assert.fail('no answer expected');
    })();
    await stream.send({ reports: [{ region: 'eu', zoneId: 'z', probeId: 'p', agentId: 'a' }] });
    await assert.rejects(reading, (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.deepEqual(
        error.violations.map((v) => v.field),
        ['reports[0].request_id', 'reports[0].expected_decision', 'reports[0].sent_at_unix_millis'],
      );
      return true;
    });
  });

  it('refuses to call a probe audit_missing while it cannot follow the audit topic', async () => {
    const blind = await boot(uniqueName('caracal_absent'));
    const stage = fixture(['eu']);
    const probe = report(stage, 'eu', 1);
    try {
      await assert.rejects(send(blind, [probe]), (error: unknown) => {
        assert.ok(error instanceof UnavailableError);
        assert.match(error.message, /audit topic is not being followed/);
        return true;
      });
    } finally {
      await shutDown(blind);
    }
    // Nothing was stored: a replica that follows the topic joins the re-sent report.
    await audit.write(auditOf(stage, probe));
    assert.deepEqual(
      (await send(replica, [probe])).map((a) => a.result),
      [CanaryResult.MATCH],
    );
  });

  it('keeps a converging stage pending, and one whose coordinator is down', async () => {
    const converging = fixture(['eu']);
    canned.set({ ...converging.activation, state: ActivationState.CONVERGING });
    const first = await verify(replica, converging, { timeoutSeconds: 60 });
    assert.equal(first.verdict?.state, VerdictState.PENDING);
    assert.equal(row(first.verdict, 'replicas_converged').state, VerdictState.PENDING);
    assert.match(row(first.verdict, 'replicas_converged').evidence, /converging/);

    const unreachable = fixture(['eu']);
    await coordinator.close();
    try {
      const { verdict } = await verify(replica, unreachable, { timeoutSeconds: 60 });
      assert.equal(verdict?.state, VerdictState.PENDING);
      const accepted = row(verdict, 'activation_accepted');
      assert.equal(accepted.state, VerdictState.PENDING, 'an outage is no evidence of failure');
      assert.match(accepted.evidence, /not checked yet \(activation coordinator at .*unavailable/);
    } finally {
      await coordinator.listen();
    }
    const later = await waitFor(
      async () => {
        const { verdict } = await replica.client.getVerdict({
          deploymentId: unreachable.deploymentId,
          stage: unreachable.stage,
        });
        return row(verdict, 'activation_accepted').state === VerdictState.PASS
          ? verdict
          : undefined;
      },
      { timeoutMs: 10_000, description: 'the stage to be judged once the coordinator is back' },
    );
    assert.equal(row(later, 'replicas_converged').state, VerdictState.PASS);
  });
});
