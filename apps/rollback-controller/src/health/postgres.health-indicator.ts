import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import { sql, type Kysely } from 'kysely';

import { ROLLBACK_DB } from '../database/rollback.repository.js';
import type { RollbackDatabase } from '../database/rollback.schema.js';

/** Healthy when the rollback database answers a query; reports the server version. */
@Injectable()
export class PostgresHealthIndicator implements HealthIndicator {
  readonly name = 'postgres';

  constructor(@Inject(ROLLBACK_DB) private readonly db: Kysely<RollbackDatabase>) {}

  async check(): Promise<string> {
    const { rows } = await sql<{ server_version: string }>`show server_version`.execute(this.db);
    return `postgresql ${rows[0]?.server_version ?? 'unknown'}`;
  }
}
