import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (the nearest directory holding `nx.json`) above the module
 * at `moduleUrl`, so defaults such as `<repo>/.local/bin/opa` work from source and
 * from `dist/` alike. Falls back to the current directory outside a checkout.
 */
export function workspaceRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}
