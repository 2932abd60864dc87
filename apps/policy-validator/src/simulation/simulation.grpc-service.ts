import { Inject, Logger } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  GateVerdict,
  SimulationService,
  type ReplayRequest,
  type ReplayResponseSchema,
  type SimulateRequest,
  type SimulateResponseSchema,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError, NotFoundError, type DeployError } from '@caracal-deploy/errors';
import { GrpcService, type CallContext, type ServiceImpl } from '@caracal-deploy/grpc';
import { createKafka, readTopicRangeBatches } from '@caracal-deploy/kafka';
import { replayDecisions, type ReplayProgress, type ReplayResult } from '@caracal-deploy/replay';
import { parseGate } from '@caracal-deploy/simulation';
import type { Kafka } from 'kafkajs';

import { VALIDATION_PIPELINE } from '../validation/validation.grpc-service.js';
import type { ValidationPipeline } from '../validation/validation-pipeline.js';
import { simulateCases } from './case-simulator.js';
import { openSignedBundle, verifySignedBundle, type TrustedKey } from './signed-bundle.js';

/** Injection token of the simulation settings. */
export const SIMULATION_OPTIONS = Symbol('SIMULATION_OPTIONS');

/** Settings of the simulation service. */
export interface SimulationOptions {
  readonly kafkaBrokers: readonly string[];
  /** Topic the STS writes recorded decisions to. */
  readonly decisionLogTopic: string;
  /** Largest batch of declared cases one call may carry. */
  readonly maxCases: number;
  /** Replay worker threads (0 = one per core). */
  readonly replayWorkers: number;
  /** Key id bundles must be signed with. */
  readonly signingKeyId: string;
}

type ReplayResponseInit = MessageInitShape<typeof ReplayResponseSchema>;

const progressMessage = (progress: ReplayProgress) => ({
  read: BigInt(progress.read),
  evaluated: BigInt(progress.evaluated),
  invalid: BigInt(progress.invalid),
  skipped: BigInt(progress.skipped),
});

const verdicts = {
  pass: GateVerdict.PASS,
  fail: GateVerdict.FAIL,
  no_data: GateVerdict.NO_DATA,
} as const;

/**
 * `caracal.deploy.v1.SimulationService`: declared cases (optionally against the
 * live bundle) and replay of recorded decisions, always on verified, signed
 * bundles; never changes what is active.
 */
@GrpcService(SimulationService)
export class SimulationGrpcService implements ServiceImpl<typeof SimulationService> {
  private readonly logger = new Logger('SimulationService');
  private readonly kafka: Kafka;

  constructor(
    @Inject(VALIDATION_PIPELINE) private readonly pipeline: ValidationPipeline,
    @Inject(SIMULATION_OPTIONS) private readonly options: SimulationOptions,
  ) {
    this.kafka = createKafka({
      brokers: options.kafkaBrokers,
      clientId: 'policy-validator-replay',
      // A replay is interactive: an unreachable Kafka should answer UNAVAILABLE in
      // seconds (about 5 s here), not after the client default's 20 s retry ladder,
      // yet leave time for a fresh cluster to create its group coordinator.
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
  }

  async simulate(
    request: SimulateRequest,
  ): Promise<MessageInitShape<typeof SimulateResponseSchema>> {
    const key = await this.trustedKey();
    const candidate = await openSignedBundle('candidate', request.candidate, key);
    const baseline = request.baseline
      ? await openSignedBundle('baseline', request.baseline, key)
      : undefined;
    const response = simulateCases(request, candidate, baseline, this.options.maxCases);
    this.logger.log(
      `simulated ${request.cases.length} cases for ${request.zoneId}: passed=${response.passed} failed=${response.failed} flipped=${response.flipped}`,
    );
    return response;
  }

  async *replay(request: ReplayRequest, context: CallContext): AsyncIterable<ReplayResponseInit> {
    if (!request.zoneId) {
      throw new InvalidArgumentError('a replay needs a zone', {
        violations: [{ field: 'zone_id', problem: 'required, got nothing' }],
      });
    }
    const gate = parseGate(request.gate);
    const bundle = verifySignedBundle('candidate', request.candidate, await this.trustedKey());

    // Progress arrives by callback from the engine; hand it to this stream as it comes.
    const pending: ReplayProgress[] = [];
    let wake: (() => void) | undefined;
    let outcome: { result: ReplayResult } | { error: unknown } | undefined;
    void replayDecisions({
      bundle,
      records: this.recordsOf(request, context.signal),
      zoneId: request.zoneId,
      gate,
      workers: request.workers || this.options.replayWorkers || undefined,
      signal: context.signal,
      onProgress: (progress) => {
        pending.push(progress);
        wake?.();
      },
    })
      .then(
        (result) => (outcome = { result }),
        (error: unknown) => (outcome = { error }),
      )
      .finally(() => wake?.());

    for (;;) {
      const progress = pending.shift();
      if (progress) {
        yield { event: { case: 'progress', value: progressMessage(progress) } };
        continue;
      }
      if (outcome) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    if ('error' in outcome) {
      this.logger.warn(
        `replay for ${request.zoneId} failed: ${outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)}`,
      );
      throw outcome.error;
    }
    const { report, gate: verdict, progress } = outcome.result;
    this.logger.log(
      `replayed ${report.totals.evaluated} decisions of ${request.zoneId}: gate ${verdict.verdict} ${verdict.reasons.join('; ')}`,
    );
    yield {
      event: {
        case: 'report',
        value: {
          evaluated: BigInt(report.totals.evaluated),
          unchanged: BigInt(report.totals.unchanged),
          allowToDeny: BigInt(report.totals.allow_to_deny),
          denyToAllow: BigInt(report.totals.deny_to_allow),
          newlyErroring: BigInt(report.totals.newly_erroring),
          topGroups: report.topGroups.map((group) => ({
            resource: group.resource,
            scopes: group.scopes,
            principalType: group.principalType,
            change: group.change,
            count: BigInt(group.count),
            exampleDecisionIds: [...group.exampleDecisionIds],
          })),
          ungroupedChanges: BigInt(report.ungroupedChanges),
          gateVerdict: verdicts[verdict.verdict],
          gateReasons: [...verdict.reasons],
          progress: progressMessage(progress),
        },
      },
    };
  }

  /**
   * The zone's recorded decisions in the window (records are keyed by zone), a fetched batch at
   * a time; a missing topic has none.
   */
  private async *recordsOf(
    request: ReplayRequest,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array[]> {
    const window = request.window;
    const from = window && window.fromUnixMillis > 0n ? Number(window.fromUnixMillis) : undefined;
    const to = window && window.toUnixMillis > 0n ? Number(window.toUnixMillis) : undefined;
    const zoneKey = Buffer.from(request.zoneId);
    const limit = request.maxSamples > 0 ? Number(request.maxSamples) : Infinity;
    let taken = 0;
    try {
      for await (const batch of readTopicRangeBatches(this.kafka, {
        topic: this.options.decisionLogTopic,
        ...(from === undefined ? {} : { fromTimestampMs: from }),
        ...(to === undefined ? {} : { toTimestampMs: to }),
        signal,
        bufferSize: 4_096,
      })) {
        const values: Uint8Array[] = [];
        for (const message of batch) {
          if (taken + values.length >= limit) break;
          if (message.value && message.key?.equals(zoneKey)) values.push(message.value);
        }
        taken += values.length;
        if (values.length > 0) yield values;
        if (taken >= limit) return;
      }
    } catch (error) {
      // No topic yet means nothing was recorded: the gate then says no_data, never pass.
      if (error instanceof NotFoundError) return;
      throw error as DeployError;
    }
  }

  private async trustedKey(): Promise<TrustedKey> {
    return { publicKeyPem: await this.pipeline.publicKeyPem(), keyId: this.options.signingKeyId };
  }
}
