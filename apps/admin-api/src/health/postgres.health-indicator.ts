import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import { sql, type Kysely } from 'kysely';

import { REGISTRY_DB } from '../database/registry.repository.js';
import type { RegistryDatabase } from '../database/registry.schema.js';

/** Healthy when the registry database answers a query; reports the server version. */
@Injectable()
export class PostgresHealthIndicator implements HealthIndicator {
  readonly name = 'postgres';

  constructor(@Inject(REGISTRY_DB) private readonly db: Kysely<RegistryDatabase>) {}

  async check(): Promise<string> {
    const { rows } = await sql<{ server_version: string }>`show server_version`.execute(this.db);
    return `postgresql ${rows[0]?.server_version ?? 'unknown'}`;
  }
}
