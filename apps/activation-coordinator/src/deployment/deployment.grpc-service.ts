import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import { Inject } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  DeploymentService,
  type AbortDeploymentRequest,
  type AbortDeploymentResponseSchema,
  type DeployRequest,
  type DeployResponseSchema,
  type GetDeploymentRequest,
  type GetDeploymentResponseSchema,
  type ListDeploymentsRequest,
  type ListDeploymentsResponseSchema,
  type PauseDeploymentRequest,
  type PauseDeploymentResponseSchema,
  type ResumeDeploymentRequest,
  type ResumeDeploymentResponseSchema,
  type WatchDeploymentRequest,
  type WatchDeploymentResponseSchema,
} from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type FieldViolation,
} from '@caracal-deploy/errors';
import { GrpcService, type CallContext, type ServiceImpl } from '@caracal-deploy/grpc';

import { uuidViolations } from '../activation/activation-requests.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { deploymentMessage, eventMessage } from './deployment-message.js';
import {
  isTerminal,
  newDeployment,
  transitions,
  type DeploymentDocument,
  type Transition,
} from './deployment-model.js';
import {
  parseDeployRequest,
  parseListDeploymentsRequest,
  requireValid,
  textViolations,
  type DeployCommand,
} from './deployment-requests.js';
import { DeploymentRunner } from './deployment-runner.js';
import { DeploymentRepository, type StoredDeployment } from './deployment.repository.js';
import { Preflight } from './preflight.js';

/** Events sent per read of a watch. */
const watchBatch = 200;

interface OperatorRequest {
  readonly deploymentId: string;
  readonly actor: string;
  readonly reason: string;
}

const operatorViolations = (request: OperatorRequest): FieldViolation[] => [
  ...uuidViolations('deployment_id', request.deploymentId),
  ...textViolations('actor', request.actor),
  ...textViolations('reason', request.reason),
];

/**
 * `caracal.deploy.v1.DeploymentService`: Deploy runs the pre-flight checks
 * and records the deployment (the {@link DeploymentRunner} runs it); reads,
 * the event watch, and the operator's pause, resume and abort.
 */
@GrpcService(DeploymentService)
export class DeploymentGrpcService implements ServiceImpl<typeof DeploymentService> {
  constructor(
    private readonly repository: DeploymentRepository,
    private readonly preflight: Preflight,
    private readonly runner: DeploymentRunner,
    private readonly metrics: CoordinatorMetrics,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async deploy(request: DeployRequest): Promise<MessageInitShape<typeof DeployResponseSchema>> {
    const command = parseDeployRequest(request);
    const earlier = await this.replay(command);
    if (earlier) return { deployment: deploymentMessage(earlier.document), replayed: true };
    const checked = await this.preflight.run(command);
    const created = newDeployment(
      {
        id: randomUUID(),
        policySetVersionId: command.policySetVersionId,
        actor: command.actor,
        reason: command.reason,
        idempotencyKey: command.idempotencyKey,
        acceptNoRollbackZones: command.acceptNoRollbackZones,
        zoneVersions: [...command.zoneVersions].map(([zoneId, policySetVersionId]) => ({
          zoneId,
          policySetVersionId,
        })),
        stages: command.stages.map((stage) => ({
          ...stage,
          zones: stage.zones.map((zoneId) => {
            const target = checked.targets.get(zoneId);
            return {
              zoneId,
              policySetVersionId: target?.policySetVersionId ?? '',
              manifestSha256: target?.manifestSha256 ?? '',
              previousVersionId: target?.previousVersionId ?? '',
            };
          }),
        })),
        preflight: checked.checks,
      },
      Date.now(),
    );
    const stored = await this.repository.create(
      created.document,
      command.requestSha256,
      created.events,
    );
    if (!stored) {
      // A concurrent request with the same key committed first.
      const raced = await this.replay(command);
      if (raced) return { deployment: deploymentMessage(raced.document), replayed: true };
      throw new FailedPreconditionError('the deployment could not be recorded; retry');
    }
    if (isTerminal(stored.document.state))
      this.metrics.deploymentsEnded.inc({ state: stored.document.state });
    else this.runner.wake();
    return { deployment: deploymentMessage(stored.document), replayed: false };
  }

  /** The deployment an idempotency key already made; refuses the key for another request. */
  private async replay(command: DeployCommand): Promise<StoredDeployment | undefined> {
    const earlier = await this.repository.byIdempotencyKey(command.idempotencyKey);
    if (!earlier) return undefined;
    if (earlier.requestSha256 !== command.requestSha256)
      throw new InvalidArgumentError(
        `idempotency key "${command.idempotencyKey}" already made deployment ${earlier.deployment.document.id} with another request; use a new key for a different deployment`,
        {
          violations: [
            {
              field: 'options.idempotency_key',
              problem: `already used for deployment ${earlier.deployment.document.id}`,
            },
          ],
        },
      );
    return earlier.deployment;
  }

  async getDeployment(
    request: GetDeploymentRequest,
  ): Promise<MessageInitShape<typeof GetDeploymentResponseSchema>> {
    return { deployment: deploymentMessage(await this.require(request.deploymentId)) };
  }

  async listDeployments(
    request: ListDeploymentsRequest,
  ): Promise<MessageInitShape<typeof ListDeploymentsResponseSchema>> {
    const page = parseListDeploymentsRequest(request);
    // One more than asked tells whether another page follows.
    const rows = await this.repository.list(page.pageSize + 1, page.beforeSeq, page.zoneId);
    const shown = rows.slice(0, page.pageSize);
    return {
      deployments: shown.map((row) => deploymentMessage(row.document)),
      nextPageToken: rows.length > page.pageSize ? (shown.at(-1)?.seq ?? '') : '',
    };
  }

  async *watchDeployment(
    request: WatchDeploymentRequest,
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof WatchDeploymentResponseSchema>> {
    requireValid('invalid watch request', [
      ...uuidViolations('deployment_id', request.deploymentId),
      ...(request.afterSeq < 0n
        ? [{ field: 'after_seq', problem: `expected >= 0, got ${request.afterSeq}` }]
        : []),
    ]);
    await this.require(request.deploymentId);
    let after = request.afterSeq.toString();
    while (!context.signal.aborted) {
      const events = await this.repository.events(request.deploymentId, after, watchBatch);
      if (events.length > 0) {
        const document = await this.require(request.deploymentId);
        for (const event of events) {
          after = event.seq;
          yield { event: eventMessage(event), deployment: deploymentMessage(document) };
          if (event.kind === 'deployment_ended') return;
        }
        continue;
      }
      try {
        await delay(this.config.convergence.progressIntervalMs, undefined, {
          signal: context.signal,
        });
      } catch {
        return;
      }
    }
  }

  async pauseDeployment(
    request: PauseDeploymentRequest,
  ): Promise<MessageInitShape<typeof PauseDeploymentResponseSchema>> {
    return {
      deployment: deploymentMessage(
        await this.operate(request, 'pause', (d, now) =>
          d.state === 'paused' ? null : transitions.pause(d, request.actor, request.reason, now),
        ),
      ),
    };
  }

  async resumeDeployment(
    request: ResumeDeploymentRequest,
  ): Promise<MessageInitShape<typeof ResumeDeploymentResponseSchema>> {
    const document = await this.operate(request, 'resume', (d, now) =>
      transitions.resume(d, request.actor, request.reason, now),
    );
    this.runner.wake();
    return { deployment: deploymentMessage(document) };
  }

  async abortDeployment(
    request: AbortDeploymentRequest,
  ): Promise<MessageInitShape<typeof AbortDeploymentResponseSchema>> {
    const document = await this.operate(request, 'abort', (d, now) =>
      transitions.requestAbort(
        d,
        { actor: request.actor, reason: request.reason, rollBack: request.rollBack },
        now,
      ),
    );
    this.runner.wake();
    return { deployment: deploymentMessage(document) };
  }

  /**
   * Applies an operator's change; FAILED_PRECONDITION when the deployment's
   * state does not allow it (ended, not paused, not running), naming the state.
   */
  private async operate(
    request: OperatorRequest,
    action: 'pause' | 'resume' | 'abort',
    change: (document: DeploymentDocument, now: number) => Transition | null,
  ): Promise<DeploymentDocument> {
    requireValid(`invalid ${action} request`, operatorViolations(request));
    let refused: DeploymentDocument | undefined;
    const result = await this.repository.transition(request.deploymentId, (document) => {
      const next = change(document, Date.now());
      // Pausing a paused deployment is a no-op, not an error.
      if (!next && !(action === 'pause' && document.state === 'paused')) refused = document;
      return next;
    });
    if (!result) throw new NotFoundError(`deployment ${request.deploymentId} does not exist`);
    if (refused)
      throw new FailedPreconditionError(
        `deployment ${request.deploymentId} is ${refused.state}${refused.abort ? ' (abort requested)' : ''}; cannot ${action} it`,
        { details: { state: refused.state } },
      );
    return result.document;
  }

  private async require(deploymentId: string): Promise<DeploymentDocument> {
    requireValid('invalid request', uuidViolations('deployment_id', deploymentId));
    const stored = await this.repository.get(deploymentId);
    if (!stored) throw new NotFoundError(`deployment ${deploymentId} does not exist`);
    return stored.document;
  }
}
