import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type GetVerdictRequest,
  type GetVerdictResponseSchema,
  type ReportProbesRequest,
  type ReportProbesResponseSchema,
  VerificationService,
  type VerifyStageRequest,
  type VerifyStageResponseSchema,
  type WatchVerdictRequest,
  type WatchVerdictResponseSchema,
} from '@caracal-deploy/contracts';
import { Inject } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError } from '@caracal-deploy/errors';
import { GrpcService, type CallContext, type ServiceImpl } from '@caracal-deploy/grpc';

import { VERIFIER_CONFIG, type VerifierConfig } from './config/verifier.config.js';
import { VerificationRepository, type StageRecord } from './database/verification.repository.js';
import { ProbeIntake, reportViolations, type Classification } from './probes/probe-intake.js';
import { StageJudge } from './verdict/stage-judge.js';
import { VerdictEvents, stageKey } from './verdict/verdict-events.js';
import { verdictMessage } from './verdict/verdict-message.js';
import { stageRequestOf, sameStage } from './verdict/stage-request.js';

/**
 * Classifications as they resolve, read in batches: everything resolved since
 * the last read goes out in one response.
 */
class ClassificationChannel {
  private batch: Classification[] = [];
  private failure: { error: unknown } | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  push(classification: Classification): void {
    this.batch.push(classification);
    this.notify();
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *batches(): AsyncGenerator<Classification[]> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (this.batch.length > 0) {
        const batch = this.batch;
        this.batch = [];
        yield batch;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** `caracal.deploy.v1.VerificationService`: probe reports in, stage verdicts out. */
@GrpcService(VerificationService)
export class VerificationGrpcService implements ServiceImpl<typeof VerificationService> {
  constructor(
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
    private readonly intake: ProbeIntake,
    private readonly repository: VerificationRepository,
    private readonly judge: StageJudge,
    private readonly events: VerdictEvents,
  ) {}

  /**
   * Answers each report once it is joined to its audit event or the join
   * deadline passed, in the order they resolve. An invalid report ends the
   * stream with INVALID_ARGUMENT naming its field; a result that cannot be
   * stored ends it with the error (the agent re-sends what was not answered).
   */
  async *reportProbes(
    requests: AsyncIterable<ReportProbesRequest>,
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof ReportProbesResponseSchema>> {
    const channel = new ClassificationChannel();
    let open = 0;
    let inputDone = false;
    const settle = () => {
      open -= 1;
      if (inputDone && open === 0) channel.end();
    };
    const read = async () => {
      let index = 0;
      for await (const request of requests) {
        const violations = request.reports.flatMap((report, i) =>
          reportViolations(report, `reports[${i}]`),
        );
        if (violations.length > 0) {
          throw new InvalidArgumentError(
            `request ${index} of the stream has invalid probe reports`,
            { violations },
          );
        }
        for (const report of request.reports) {
          open += 1;
          this.intake
            .classify(report)
            .then((classification) => channel.push(classification))
            .catch((error: unknown) => channel.fail(error))
            .finally(settle);
        }
        index += 1;
      }
      inputDone = true;
      if (open === 0) channel.end();
    };
    read().catch((error: unknown) => channel.fail(error));
    // A cancelled call (or a server shutting down) stops answering at once;
    // classifications still in flight are stored all the same.
    context.signal.addEventListener('abort', () => channel.end(), { once: true });
    for await (const classifications of channel.batches()) {
      if (context.signal.aborted) return;
      yield { classifications };
    }
  }

  async verifyStage(
    request: VerifyStageRequest,
  ): Promise<MessageInitShape<typeof VerifyStageResponseSchema>> {
    const stage = stageRequestOf(request, new Date());
    const { record, created } = await this.repository.insertStage(stage);
    if (!created) {
      sameStage(record, stage);
      return { verdict: verdictMessage(record) };
    }
    this.intake.forgetTargets(record.zones.map((zone) => zone.zoneId));
    return { verdict: verdictMessage(await this.judge.judge(record)) };
  }

  async getVerdict(
    request: GetVerdictRequest,
  ): Promise<MessageInitShape<typeof GetVerdictResponseSchema>> {
    return { verdict: verdictMessage(await this.stageOf(request)) };
  }

  async *watchVerdict(
    request: WatchVerdictRequest,
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof WatchVerdictResponseSchema>> {
    const key = stageKey(request.deploymentId, request.stage);
    let stage = await this.stageOf(request);
    let sent = -1;
    for (;;) {
      if (stage.changes !== sent) {
        sent = stage.changes;
        yield { verdict: verdictMessage(stage) };
      }
      if (stage.state !== 'pending') return;
      await this.events.next(key, this.config.watchPollMs, context.signal);
      if (context.signal.aborted) return;
      stage = await this.stageOf(request);
    }
  }

  private async stageOf(request: { deploymentId: string; stage: string }): Promise<StageRecord> {
    const violations = [
      ...(request.deploymentId === '' ? [{ field: 'deployment_id', problem: 'required' }] : []),
      ...(request.stage === '' ? [{ field: 'stage', problem: 'required' }] : []),
    ];
    if (violations.length > 0) {
      throw new InvalidArgumentError('a deployment stage is named by deployment_id and stage', {
        violations,
      });
    }
    const stage = await this.repository.stage(request.deploymentId, request.stage);
    if (!stage) {
      throw new NotFoundError(
        `no verification of stage ${JSON.stringify(request.stage)} of deployment ${JSON.stringify(request.deploymentId)}`,
      );
    }
    return stage;
  }
}
