import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import { sql, type Kysely } from 'kysely';

import { COORDINATOR_DB } from '../activation/activation.repository.js';
import type { CoordinatorDatabase } from '../database/coordinator.schema.js';

/** Healthy when the coordinator's database answers a query; reports the server version. */
@Injectable()
export class PostgresHealthIndicator implements HealthIndicator {
  readonly name = 'postgres';

  constructor(@Inject(COORDINATOR_DB) private readonly db: Kysely<CoordinatorDatabase>) {}

  async check(): Promise<string> {
    const { rows } = await sql<{ server_version: string }>`show server_version`.execute(this.db);
    return `postgresql ${rows[0]?.server_version ?? 'unknown'}`;
  }
}
