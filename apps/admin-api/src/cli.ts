import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, type ConfigSource } from '@caracal-deploy/config';
import { DeployError } from '@caracal-deploy/errors';
import { createDatabase, migrateToLatest } from '@caracal-deploy/postgres';

import { generateApiToken, hashApiToken } from './auth/api-token.js';
import { isRole, roles } from './auth/roles.js';
import { loadAdminConfig } from './config/admin.config.js';
import { migrations } from './database/migrations.js';
import { RegistryRepository } from './database/registry.repository.js';
import type { RegistryDatabase } from './database/registry.schema.js';

const usage = `usage:
  node apps/admin-api/dist/cli.js migrate
      apply pending registry migrations to CARACAL_POSTGRES_URL
  node apps/admin-api/dist/cli.js create-token --role <${roles.join('|')}> --name <name>
      migrate, create an API token and print it once on stdout (only its hash is stored)`;

/** Runs one CLI command with config from `source` (default: the environment); returns the exit code. */
export async function runCli(
  argv: readonly string[],
  out: (line: string) => void,
  source?: ConfigSource,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'migrate' && command !== 'create-token') {
    out(usage);
    return 2;
  }
  const { values } = parseArgs({
    args: [...rest],
    options: { role: { type: 'string' }, name: { type: 'string' } },
    strict: true,
  });
  if (command === 'create-token') {
    const role = values.role ?? '';
    const name = values.name ?? '';
    if (!isRole(role) || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
      out(usage);
      return 2;
    }
  }
  const config = loadAdminConfig(source);
  const db = createDatabase<RegistryDatabase>(config.postgresUrl, { applicationName: 'admin-cli' });
  try {
    const applied = await migrateToLatest(db, migrations);
    if (command === 'migrate') {
      out(applied.length === 0 ? 'up to date' : `applied: ${applied.join(', ')}`);
      return 0;
    }
    const token = generateApiToken();
    await new RegistryRepository(db).createToken(
      { name: values.name ?? '', role: values.role ?? '', tokenSha256: hashApiToken(token) },
      'cli',
    );
    out(token);
    return 0;
  } finally {
    await db.destroy();
  }
}

// Only run when executed, not when imported by a test.
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  runCli(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof ConfigError || error instanceof DeployError ? error.message : error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
