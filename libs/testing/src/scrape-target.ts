import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { InfraSettings } from './infra-settings.js';

/** A file_sd target file registered with the local Prometheus; `remove()` unregisters it. */
export interface ScrapeTarget {
  readonly file: string;
  remove(): Promise<void>;
}

/**
 * Registers `targets` (`host:port` of `/metrics` endpoints) with the Prometheus
 * of tools/infra through its file_sd directory. The file is written under
 * another name and renamed into place: Prometheus watches the directory and
 * would otherwise read a half-written file, fail to parse it, and skip it.
 */
export async function registerScrapeTarget(
  settings: Pick<InfraSettings, 'prometheusTargetsDir'>,
  name: string,
  targets: readonly string[],
  labels: Readonly<Record<string, string>> = {},
): Promise<ScrapeTarget> {
  const file = join(settings.prometheusTargetsDir, `${name}.json`);
  const partial = `${file}.partial`;
  await writeFile(partial, JSON.stringify([{ targets, labels }]));
  await rename(partial, file);
  return { file, remove: () => rm(file, { force: true }) };
}
