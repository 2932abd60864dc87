import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import { sql, type Kysely } from 'kysely';

import { VERIFICATION_DB } from '../database/verification.repository.js';
import type { VerificationDatabase } from '../database/verification.schema.js';

/** Healthy when the verification database answers a query; reports the server version. */
@Injectable()
export class PostgresHealthIndicator implements HealthIndicator {
  readonly name = 'postgres';

  constructor(@Inject(VERIFICATION_DB) private readonly db: Kysely<VerificationDatabase>) {}

  async check(): Promise<string> {
    const { rows } = await sql<{ server_version: string }>`show server_version`.execute(this.db);
    return `postgresql ${rows[0]?.server_version ?? 'unknown'}`;
  }
}
