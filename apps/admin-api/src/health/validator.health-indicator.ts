import { Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { ValidatorClient } from '../validation/validator.client.js';

/** Healthy when the policy-validator's own HealthService says SERVING (OPA included). */
@Injectable()
export class ValidatorHealthIndicator implements HealthIndicator {
  readonly name = 'policy-validator';

  constructor(private readonly validator: ValidatorClient) {}

  check(signal: AbortSignal): Promise<string> {
    return this.validator.check(signal);
  }
}
