import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';

/** Options for {@link createDatabase}. */
export interface DatabaseOptions {
  /** Pool size; defaults to 10. */
  readonly maxConnections?: number;
  /** Shown in `pg_stat_activity.application_name`. */
  readonly applicationName?: string;
  /** Connect timeout per pooled connection, ms; defaults to 5000. */
  readonly connectTimeoutMs?: number;
  /** Receives errors of idle pooled connections (e.g. a server restart). */
  readonly onIdleError?: (error: Error) => void;
}

/**
 * A typed Kysely instance over a `pg` pool for `url`. Connections open lazily on the
 * first query; call `db.destroy()` to close the pool.
 */
export function createDatabase<DB>(url: string, options: DatabaseOptions = {}): Kysely<DB> {
  const pool = new Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
  // Without a listener an idle connection's error crashes the process; the pool has
  // already discarded that connection and the next query opens a fresh one.
  pool.on('error', options.onIdleError ?? (() => undefined));
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
