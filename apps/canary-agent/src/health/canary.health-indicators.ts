import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '@caracal-deploy/errors';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { CANARY_AGENT, type CanaryAgent } from '../canary-agent.js';

/**
 * Unhealthy when probes of the last round got no answer and none reached the
 * Gateway: the Gateway (or the STS the canary principals exchange at) is
 * unreachable, and those reports are all `error`. Probes the policy denied at
 * the exchange never go to the Gateway and do not count either way.
 */
@Injectable()
export class GatewayHealthIndicator implements HealthIndicator {
  readonly name = 'gateway';

  constructor(@Inject(CANARY_AGENT) private readonly agent: CanaryAgent) {}

  check(): Promise<string> {
    const status = this.agent.status();
    if (status.lastRound === 0) {
      return Promise.reject(new UnavailableError('no probe round has finished yet'));
    }
    if (status.lastRoundUnanswered > 0 && status.lastRoundGatewayAnswers === 0) {
      return Promise.reject(
        new UnavailableError(
          `round ${status.lastRound}: ${status.lastRoundUnanswered} of ${status.lastRoundProbes} probes got no answer and none reached the Gateway`,
        ),
      );
    }
    return Promise.resolve(
      `round ${status.lastRound}: the Gateway answered ${status.lastRoundGatewayAnswers} of ${status.lastRoundProbes} probes`,
    );
  }
}

/** Healthy while the report stream to the verification aggregator is open and answering. */
@Injectable()
export class AggregatorHealthIndicator implements HealthIndicator {
  readonly name = 'aggregator';

  constructor(@Inject(CANARY_AGENT) private readonly agent: CanaryAgent) {}

  check(): Promise<string> {
    const status = this.agent.status();
    if (!status.aggregatorConnected) {
      return Promise.reject(
        new UnavailableError(
          `no open report stream to the aggregator; ${status.held} reports held`,
        ),
      );
    }
    return Promise.resolve(`${status.held} reports awaiting classification`);
  }
}
