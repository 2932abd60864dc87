import { Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { AuditFollower } from '../audit/audit-follower.js';

/** Healthy while the audit topic is followed; without it every probe would end audit_missing. */
@Injectable()
export class KafkaHealthIndicator implements HealthIndicator {
  readonly name = 'kafka';

  constructor(private readonly follower: AuditFollower) {}

  check(): Promise<string> {
    return this.follower.check();
  }
}
