import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import type { Redis } from 'ioredis';

import { COORDINATOR_REDIS } from '../redis.tokens.js';

/** Healthy when Redis answers PING (invalidations queue in the outbox while it does not). */
@Injectable()
export class RedisHealthIndicator implements HealthIndicator {
  readonly name = 'redis';

  constructor(@Inject(COORDINATOR_REDIS) private readonly redis: Redis) {}

  async check(): Promise<string> {
    return `redis ${await this.redis.ping()}`;
  }
}
