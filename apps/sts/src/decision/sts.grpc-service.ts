import { randomUUID } from 'node:crypto';

import { Inject } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  Decision,
  StsService,
  type DecideRequest,
  type DecideResponseSchema,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import { GrpcService, type ServiceImpl } from '@caracal-deploy/grpc';

import { decideRequest } from './decide-request.js';
import { DecisionEngine } from './decision-engine.js';

/** Injection token of the app's {@link DecisionEngine}. */
export const DECISION_ENGINE = Symbol('DECISION_ENGINE');

/**
 * `caracal.deploy.v1.StsService`: the Gateway's per-request decision on the
 * same engine as the token endpoint (audited as `gateway.decide`). A full audit
 * buffer surfaces as RESOURCE_EXHAUSTED, so the Gateway denies instead of forwarding.
 */
@GrpcService(StsService)
export class StsGrpcService implements ServiceImpl<typeof StsService> {
  constructor(@Inject(DECISION_ENGINE) private readonly engine: DecisionEngine) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- the handler contract is async
  async decide(request: DecideRequest): Promise<MessageInitShape<typeof DecideResponseSchema>> {
    let input: unknown;
    try {
      input = JSON.parse(request.inputJson);
    } catch (error) {
      throw new InvalidArgumentError('input_json is not JSON', {
        cause: error,
        violations: [{ field: 'input_json', problem: `not JSON: ${(error as Error).message}` }],
      });
    }
    const decided = decideRequest(this.engine, {
      zoneId: request.zoneId,
      requestId: request.requestId || randomUUID(),
      input,
      inputField: 'input_json',
    });
    return {
      decision: decided.decision === 'allow' ? Decision.ALLOW : Decision.DENY,
      decisionId: decided.decisionId,
      revision: decided.revision ?? '',
      evaluationStatus: decided.evaluationStatus,
      resultJson: decided.result === undefined ? '' : JSON.stringify(decided.result),
      reason: decided.reason ?? '',
    };
  }
}
