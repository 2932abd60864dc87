import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { workspaceRoot } from '@caracal-deploy/config';

/**
 * The Caracal contract fixtures, read from `../shared/contracts/caracal/fixtures`
 * next to the checkout (never copied, never edited).
 */
export const sharedFixturesDir = join(
  workspaceRoot(import.meta.url),
  '..',
  'shared',
  'contracts',
  'caracal',
  'fixtures',
);

/** The text of one shared fixture. */
export function sharedFixtureText(name: string): string {
  return readFileSync(join(sharedFixturesDir, name), 'utf8');
}

/** One shared fixture, parsed. */
export function sharedFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(sharedFixtureText(name)) as T;
}
