import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type ListRollbacksRequest,
  type ListRollbacksResponseSchema,
  RollbackService,
  type RollbackRequest,
  type RollbackResponseSchema,
} from '@caracal-deploy/contracts';
import { GrpcService, type CallContext, type ServiceImpl } from '@caracal-deploy/grpc';

import { RollbackRepository } from '../database/rollback.repository.js';
import { decodePageToken, encodePageToken, pageSizeOf } from './rollback-pagination.js';
import { rollbackRecordOf } from './rollback-record.js';
import { RollbackRunner } from './rollback-runner.js';

/** `caracal.deploy.v1.RollbackService` over the {@link RollbackRunner} and the record. */
@GrpcService(RollbackService)
export class RollbackGrpcService implements ServiceImpl<typeof RollbackService> {
  constructor(
    private readonly runner: RollbackRunner,
    private readonly repository: RollbackRepository,
  ) {}

  async rollback(
    request: RollbackRequest,
    context: CallContext,
  ): Promise<MessageInitShape<typeof RollbackResponseSchema>> {
    const result = await this.runner.rollback(
      {
        zoneId: request.zoneId,
        reason: request.reason,
        actor: request.actor,
        expectedActiveVersionId: request.expectedActiveVersionId,
        idempotencyKey: request.idempotencyKey,
        waitForConvergence: request.waitForConvergence,
        trigger: request.trigger,
      },
      context.signal,
    );
    return {
      rollback: rollbackRecordOf(result.record, result.replayed),
      ...(result.status === undefined ? {} : { status: result.status }),
    };
  }

  async listRollbacks(
    request: ListRollbacksRequest,
  ): Promise<MessageInitShape<typeof ListRollbacksResponseSchema>> {
    const limit = pageSizeOf(request.pageSize);
    const rows = await this.repository.list({
      zoneId: request.zoneId === '' ? undefined : request.zoneId,
      beforeSeq: request.pageToken === '' ? undefined : decodePageToken(request.pageToken),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      rollbacks: page.map((row) => rollbackRecordOf(row)),
      nextPageToken: rows.length > limit && last !== undefined ? encodePageToken(last.seq) : '',
    };
  }
}
