import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Decision,
  GateVerdict,
  SimulationService,
  ValidationService,
  type ReplayReport,
  type SignedBundle,
} from '@caracal-deploy/contracts';
import {
  InvalidArgumentError,
  ResourceExhaustedError,
  UnavailableError,
} from '@caracal-deploy/errors';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { createKafka } from '@caracal-deploy/kafka';
import { loadWasmPolicy, readBundle } from '@caracal-deploy/opa';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  type TestTopic,
} from '@caracal-deploy/testing';

import { AppModule } from '../app.module.js';
import { loadValidatorConfig } from '../config/validator.config.js';

const settings = infraSettings();
const appRoot = new URL('../../', import.meta.url);
const contracts = new URL('../../../shared/contracts/caracal/', appRoot);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const fixture = (path: string) =>
  readFile(new URL(`fixtures/baseline-pack/${path}`, appRoot), 'utf8');

/** The parts of a policy input these tests change. */
interface Input {
  principal: { zone_id: string };
  resource: { identifier: string };
  action?: unknown;
  context: { requested_scopes: string[] };
}

/** The shared STS input fixture with other requested scopes (and optional changes). */
async function input(
  scopes: string[],
  change: (value: Input) => void = () => undefined,
): Promise<Input> {
  const value = JSON.parse(
    await readFile(new URL('fixtures/policy-input.sts.valid.json', contracts), 'utf8'),
  ) as Input;
  value.context.requested_scopes = scopes;
  change(value);
  return value;
}

interface Booted {
  app: INestApplicationContext;
  validation: GrpcClient<typeof ValidationService>;
  simulation: GrpcClient<typeof SimulationService>;
}

async function boot(
  keyFile: string,
  topic: string,
  brokers = settings.kafkaBrokers.join(','),
): Promise<Booted> {
  const config = loadValidatorConfig({
    CARACAL_VALIDATOR_GRPC_ADDRESS: '127.0.0.1:0',
    CARACAL_VALIDATOR_METRICS_PORT: '0',
    CARACAL_OPA_BIN: settings.opaBin,
    CARACAL_BUNDLE_SIGNING_KEY_FILE: keyFile,
    CARACAL_BUNDLE_SIGNING_KEY_ID: 'sim-e2e',
    CARACAL_KAFKA_BROKERS: brokers,
    CARACAL_DECISION_LOG_TOPIC: topic,
    CARACAL_SIMULATION_MAX_CASES: '5',
    CARACAL_REPLAY_WORKERS: '2',
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: false,
  });
  const address = `127.0.0.1:${app.get(GrpcServerHost).port}`;
  return {
    app,
    validation: createGrpcClient(ValidationService, address),
    simulation: createGrpcClient(SimulationService, address, { defaultTimeoutMs: 60_000 }),
  };
}

async function close(booted: Booted): Promise<void> {
  booted.validation.close();
  booted.simulation.close();
  await booted.app.close();
}

describe('SimulationService over gRPC', () => {
  let keyDir: string;
  let topic: TestTopic;
  let service: Booted;
  let live: SignedBundle;
  let candidate: SignedBundle;

  /** Builds the baseline pack with the given grant scopes into a signed bundle. */
  const build = async (scopes: string[], revision: string): Promise<SignedBundle> => {
    const response = await service.validation.buildBundle({
      revision,
      source: {
        zoneId: 'zone-1',
        modules: [
          { path: 'policies/baseline.rego', source: await fixture('policies/baseline.rego') },
        ],
        data: [
          {
            path: 'caracal/data.json',
            json: encode({ grants: [{ resource: 'resource://api', scopes }] }),
          },
        ],
        catalog: [{ identifier: 'resource://api', id: 'resource-1', scopes: ['read', 'write'] }],
      },
    });
    assert.equal(response.validation?.valid, true, JSON.stringify(response.validation?.findings));
    return {
      $typeName: 'caracal.deploy.v1.SignedBundle',
      bundle: response.bundle,
      bundleSha256: response.bundleSha256,
      revision,
    };
  };

  before(async () => {
    await assertReachable('opa', settings);
    await assertReachable('kafka', settings);
    keyDir = await mkdtemp(join(tmpdir(), 'caracal-simulation-e2e-'));
    topic = await createTestTopic(settings.kafkaBrokers, { partitions: 3 });
    service = await boot(join(keyDir, 'signing.pem'), topic.topic);
    live = await build(['read'], 'a'.repeat(64));
    candidate = await build(['read', 'write'], 'b'.repeat(64));
  });
  after(async () => {
    await close(service);
    await topic.delete();
    await rm(keyDir, { recursive: true, force: true });
  });

  const catalog = [{ identifier: 'resource://api', id: 'resource-1', scopes: ['read', 'write'] }];

  it('runs declared cases on the candidate and shows what flips against live', async () => {
    const response = await service.simulation.simulate({
      zoneId: 'zone-1',
      candidate,
      baseline: live,
      catalog,
      cases: [
        {
          name: 'read',
          inputJson: encode(await input(['read'])),
          expectedDecision: Decision.ALLOW,
        },
        {
          name: 'write',
          inputJson: encode(await input(['write'])),
          expectedDecision: Decision.ALLOW,
        },
        { name: 'nothing', inputJson: encode(await input([])), expectedDecision: Decision.ALLOW },
      ],
    });
    assert.deepEqual(
      response.results.map((r) => [
        r.name,
        r.candidate?.decision,
        r.baseline?.decision,
        r.passed,
        r.flipped,
      ]),
      [
        ['read', Decision.ALLOW, Decision.ALLOW, true, false],
        ['write', Decision.ALLOW, Decision.DENY, true, true],
        ['nothing', Decision.DENY, Decision.DENY, false, false],
      ],
    );
    assert.deepEqual(
      [response.passed, response.failed, response.flipped, response.invalid],
      [2, 1, 1, 0],
    );
    const result = JSON.parse(
      new TextDecoder().decode(response.results[2]?.candidate?.resultJson),
    ) as {
      diagnostics: { code: string }[];
    };
    assert.equal(result.diagnostics[0]?.code, 'no_scope_requested');
    assert.equal(response.results[0]?.candidate?.evaluationStatus, 'complete');
  });

  it('warns about inputs that explain surprises: other zone, unknown resource, scopes not on the resource', async () => {
    const response = await service.simulation.simulate({
      zoneId: 'zone-1',
      candidate,
      catalog,
      cases: [
        {
          name: 'odd input',
          expectedDecision: Decision.DENY,
          inputJson: encode(
            await input(['admin'], (value) => {
              value.principal.zone_id = 'zone-2';
              value.resource.identifier = 'resource://billing';
              delete value.action;
            }),
          ),
        },
      ],
    });
    const codes = response.results[0]?.inputWarnings.map((w) => w.code).sort();
    assert.deepEqual(codes, [
      'input_schema',
      'principal_zone_mismatch',
      'scopes_not_in_resource',
      'unknown_resource',
    ]);
  });

  it('refuses malformed cases naming them, or runs the rest when asked', async () => {
    const cases = [
      { name: 'good', inputJson: encode(await input(['read'])), expectedDecision: Decision.ALLOW },
      {
        name: 'not json',
        inputJson: new TextEncoder().encode('{nope'),
        expectedDecision: Decision.ALLOW,
      },
      {
        name: 'no expectation',
        inputJson: encode(await input(['read'])),
        expectedDecision: Decision.UNSPECIFIED,
      },
    ];
    await assert.rejects(
      service.simulation.simulate({ zoneId: 'zone-1', candidate, cases }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(
          error.violations.map((v) => v.field),
          ['cases[1].input_json', 'cases[2].expected_decision'],
        );
        return true;
      },
    );
    const response = await service.simulation.simulate({
      zoneId: 'zone-1',
      candidate,
      cases,
      continueOnInvalidCase: true,
    });
    assert.deepEqual([response.passed, response.invalid], [1, 2]);
    assert.equal(response.results[1]?.invalid?.code, 'invalid_case');
  });

  it('verifies the bundle before evaluating it', async () => {
    const tampered = { ...candidate, bundleSha256: 'c'.repeat(64) };
    const relabelled = { ...candidate, revision: 'd'.repeat(64) };
    const cases = [
      { name: 'read', inputJson: encode(await input(['read'])), expectedDecision: Decision.ALLOW },
    ];
    for (const [bundle, field] of [
      [tampered, 'candidate.bundle_sha256'],
      [relabelled, 'candidate.revision'],
    ] as const) {
      await assert.rejects(
        service.simulation.simulate({ zoneId: 'zone-1', candidate: bundle, cases }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidArgumentError);
          assert.equal(error.violations[0]?.field, field);
          return true;
        },
      );
    }
  });

  it('refuses an oversized batch with the limit', async () => {
    const one = {
      name: 'read',
      inputJson: encode(await input(['read'])),
      expectedDecision: Decision.ALLOW,
    };
    await assert.rejects(
      service.simulation.simulate({
        zoneId: 'zone-1',
        candidate,
        cases: Array.from({ length: 6 }, () => one),
      }),
      (error: unknown) =>
        error instanceof ResourceExhaustedError && /at most 5 cases/.test(error.message),
    );
  });

  describe('replay of recorded decisions', () => {
    const replay = async (
      gate: string,
      window?: { fromUnixMillis: bigint; toUnixMillis: bigint },
    ) => {
      let report: ReplayReport | undefined;
      let progressEvents = 0;
      for await (const message of service.simulation.replay({
        zoneId: 'zone-1',
        candidate,
        gate,
        ...(window ? { window } : {}),
      })) {
        if (message.event.case === 'progress') progressEvents += 1;
        if (message.event.case === 'report') report = message.event.value;
      }
      assert.ok(report, 'the stream ends with a report');
      return { report, progressEvents };
    };

    before(async () => {
      // Recorded decisions as the live STS made them, keyed by zone, plus another zone's.
      const livePolicy = await (async () => {
        const bundle = readBundle(live.bundle);
        return loadWasmPolicy(bundle.wasm, bundle.data);
      })();
      const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'simulation-e2e' });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const messages = [];
      for (let i = 0; i < 300; i += 1) {
        const scopes = i % 3 === 0 ? ['write'] : ['read'];
        const recorded = await input(scopes);
        messages.push({
          key: i % 10 === 0 ? 'zone-other' : 'zone-1',
          timestamp: String(1_790_000_000_000 + i),
          value: JSON.stringify({
            decision_id: `dec-${i}`,
            zone_id: i % 10 === 0 ? 'zone-other' : 'zone-1',
            revision: live.revision,
            timestamp: 1_790_000_000_000 + i,
            input: recorded,
            result: livePolicy.evaluate(recorded, 'caracal/authz/result'),
          }),
        });
      }
      await producer.send({ topic: topic.topic, acks: -1, messages });
      await producer.disconnect();
    });

    it('reports what would change and fails a gate that forbids deny → allow', async () => {
      const { report } = await replay('deny_to_allow=0');
      // 270 zone-1 records; every third asks for write: denied live, allowed by the candidate.
      assert.equal(report.evaluated, 270n);
      assert.equal(report.denyToAllow, 90n);
      assert.equal(report.allowToDeny, 0n);
      assert.equal(report.gateVerdict, GateVerdict.FAIL);
      assert.deepEqual(report.gateReasons, ['90 recorded denies would become allows']);
      const group = report.topGroups[0];
      assert.equal(group?.resource, 'resource://api');
      assert.equal(group?.scopes, 'write');
      assert.equal(group?.change, 'deny_to_allow');
      assert.ok((group?.exampleDecisionIds.length ?? 0) > 0);
    });

    it('passes a gate the change meets', async () => {
      const { report } = await replay('allow_to_deny<=0');
      assert.equal(report.gateVerdict, GateVerdict.PASS);
    });

    it('says no_data for a window without recorded decisions, never pass', async () => {
      const { report } = await replay('', { fromUnixMillis: 1_000n, toUnixMillis: 2_000n });
      assert.equal(report.evaluated, 0n);
      assert.equal(report.gateVerdict, GateVerdict.NO_DATA);
      assert.deepEqual(report.gateReasons, ['no recorded decisions in the window']);
    });

    it('names a gate clause it cannot read', async () => {
      await assert.rejects(replay('deny_to_allow=0,banana'), (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.violations[0]?.field, 'gate[1]');
        return true;
      });
    });
  });

  it('reports Kafka being unreachable as unavailable', async () => {
    const offline = await boot(join(keyDir, 'signing.pem'), topic.topic, '127.0.0.1:1');
    try {
      const iterate = async () => {
        for await (const _message of offline.simulation.replay({
          zoneId: 'zone-1',
          candidate,
          gate: '',
        })) {
          // progress may arrive; the stream must end with an error
        }
      };
      await assert.rejects(iterate(), UnavailableError);
    } finally {
      await close(offline);
    }
  });
});
