import { InternalError } from '@caracal-deploy/errors';
import { Migrator, type Kysely, type Migration } from 'kysely';

/**
 * A service's migrations, registered in code and keyed by name; names sort into
 * apply order (e.g. `0001_create_zone`), so no directory is scanned at runtime.
 */
export type Migrations = Readonly<Record<string, Migration>>;

/** A migration failed; names it, lists what this run applied before it, keeps the cause. */
export class MigrationError extends InternalError {
  constructor(
    /** The failing migration, or undefined when the migration set itself was rejected. */
    readonly migration: string | undefined,
    /** Migrations applied by this run before the failure; they stay applied. */
    readonly applied: readonly string[],
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      migration === undefined
        ? `database migrations could not run: ${reason}`
        : `database migration "${migration}" failed: ${reason}`,
      { cause, details: migration === undefined ? {} : { migration } },
    );
  }
}

/** Where a service keeps its migration bookkeeping. */
export interface MigrationTables {
  /** Applied migrations; Kysely's default is `kysely_migration`. */
  readonly migrationTableName: string;
  /** The migration lock; Kysely's default is `kysely_migration_lock`. */
  readonly migrationLockTableName: string;
}

/**
 * Applies every pending migration and returns the names applied (empty when already
 * up to date). Each migration commits in its own transaction, so on failure the
 * earlier ones stay applied, the failed one leaves nothing behind, and a
 * {@link MigrationError} names it. Services that share a database pass their own
 * `tables`, so neither migrator sees the other's migrations as unknown ones.
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Migrations,
  tables?: MigrationTables,
): Promise<string[]> {
  // Kysely's own migrateToLatest runs the whole batch in one transaction, so one bad
  // migration would also undo the good ones before it. Stepping with migrateUp
  // gives each migration its own transaction (and its own migration lock).
  const migrator = new Migrator({
    // The migrator only touches its own tables, so the caller's schema type is irrelevant.
    db: db as Kysely<unknown>,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    ...tables,
  });
  const applied: string[] = [];
  for (;;) {
    const { error, results = [] } = await migrator.migrateUp();
    const failed = results.find((result) => result.status === 'Error');
    if (failed !== undefined) throw new MigrationError(failed.migrationName, applied, error);
    if (error !== undefined) throw new MigrationError(undefined, applied, error);
    const done = results.filter((result) => result.status === 'Success');
    if (done.length === 0) return applied;
    applied.push(...done.map((result) => result.migrationName));
  }
}
