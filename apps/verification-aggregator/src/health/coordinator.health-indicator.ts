import { Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { CoordinatorClient } from '../coordinator/coordinator.client.js';

/** Healthy when the activation coordinator answers; without it no stage can be judged. */
@Injectable()
export class CoordinatorHealthIndicator implements HealthIndicator {
  readonly name = 'activation-coordinator';

  constructor(private readonly coordinator: CoordinatorClient) {}

  check(signal: AbortSignal): Promise<string> {
    return this.coordinator.check(signal);
  }
}
