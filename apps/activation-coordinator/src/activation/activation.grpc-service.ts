import { Inject } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ActivationService,
  type ActivateRequest,
  type ActivateResponseSchema,
  type GetActivationRequest,
  type GetActivationResponseSchema,
  type GetActiveBindingRequest,
  type GetActiveBindingResponseSchema,
  type GetLastKnownGoodRequest,
  type GetLastKnownGoodResponseSchema,
  type ListActivationsRequest,
  type ListActivationsResponseSchema,
  type WatchActivationRequest,
  type WatchActivationResponseSchema,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import { GrpcService, type CallContext, type ServiceImpl } from '@caracal-deploy/grpc';

import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { ActivationMonitor } from './activation-monitor.js';
import {
  parseActivateRequest,
  parseListRequest,
  uuidViolations,
  zoneViolations,
} from './activation-requests.js';
import { activationMessage } from './activation-status.js';
import { ActivationRepository, type BindingRow } from './activation.repository.js';
import {
  VERIFICATION_VERDICTS,
  lastKnownGood,
  type VerificationVerdicts,
} from './last-known-good.js';

const requireValid = (violations: ReturnType<typeof zoneViolations>): void => {
  if (violations.length > 0)
    throw new InvalidArgumentError(violations.map((v) => `${v.field}: ${v.problem}`).join('; '), {
      violations,
    });
};

const bindingMessage = (row: BindingRow) => ({
  zoneId: row.zone_id,
  policySetId: row.policy_set_id,
  policySetVersionId: row.policy_set_version_id,
  manifestSha256: row.manifest_sha256,
  bundleSha256: row.bundle_sha256,
  activationId: row.activation_id,
  activatedAtUnixMillis: BigInt(row.activated_at.getTime()),
});

/**
 * `caracal.deploy.v1.ActivationService`: compare-and-set activation with an
 * outbox row in the same transaction, per-replica status and watch, history,
 * last known good, and the active binding STS replicas read.
 */
@GrpcService(ActivationService)
export class ActivationGrpcService implements ServiceImpl<typeof ActivationService> {
  constructor(
    private readonly repository: ActivationRepository,
    private readonly monitor: ActivationMonitor,
    private readonly metrics: CoordinatorMetrics,
    @Inject(VERIFICATION_VERDICTS) private readonly verdicts: VerificationVerdicts,
  ) {}

  async activate(
    request: ActivateRequest,
  ): Promise<MessageInitShape<typeof ActivateResponseSchema>> {
    const command = parseActivateRequest(request);
    const { activation, replayed } = await this.repository.activate(command);
    if (!replayed) this.metrics.activations.inc({ trigger: activation.trigger });
    return { activation: activationMessage(activation), replayed };
  }

  async getActivation(
    request: GetActivationRequest,
  ): Promise<MessageInitShape<typeof GetActivationResponseSchema>> {
    requireValid(uuidViolations('activation_id', request.activationId));
    return { status: (await this.monitor.status(request.activationId)).status };
  }

  async *watchActivation(
    request: WatchActivationRequest,
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof WatchActivationResponseSchema>> {
    requireValid(uuidViolations('activation_id', request.activationId));
    for await (const judged of this.monitor.watch(request.activationId, context.signal))
      yield { status: judged.status };
  }

  async listActivations(
    request: ListActivationsRequest,
  ): Promise<MessageInitShape<typeof ListActivationsResponseSchema>> {
    const page = parseListRequest(request);
    await this.repository.requireZone(page.zoneId);
    // One more than asked tells whether another page follows.
    const rows = await this.repository.history(page.zoneId, page.pageSize + 1, page.beforeSeq);
    const shown = rows.slice(0, page.pageSize);
    const activations = [];
    for (const row of shown) {
      const judged = await this.monitor.judgeRow(row);
      activations.push({
        activation: judged.status.activation,
        state: judged.state,
        propagationMillis: BigInt(Math.round(judged.propagationMs ?? 0)),
      });
    }
    return {
      activations,
      nextPageToken: rows.length > page.pageSize ? (shown.at(-1)?.seq ?? '') : '',
    };
  }

  async getLastKnownGood(
    request: GetLastKnownGoodRequest,
  ): Promise<MessageInitShape<typeof GetLastKnownGoodResponseSchema>> {
    requireValid(zoneViolations('zone_id', request.zoneId));
    await this.repository.requireZone(request.zoneId);
    const current = await this.repository.binding(request.zoneId);
    const known = await lastKnownGood(
      this.repository,
      this.verdicts,
      request.zoneId,
      current?.policy_set_version_id ?? '',
    );
    return {
      ...(current ? { current: bindingMessage(current) } : {}),
      ...(known ? { lastKnownGood: activationMessage(known) } : {}),
    };
  }

  async getActiveBinding(
    request: GetActiveBindingRequest,
  ): Promise<MessageInitShape<typeof GetActiveBindingResponseSchema>> {
    requireValid(zoneViolations('zone_id', request.zoneId));
    const binding = await this.repository.binding(request.zoneId);
    return binding ? { binding: bindingMessage(binding) } : {};
  }
}
