// Runs compiled test files with Node's built-in test runner.
//
//   node tools/test/run-tests.mjs [--unit] [project-root...]
//
// Unit tests are `*.spec.ts`; integration tests against real infrastructure are
// `*.int.spec.ts`; tests that boot whole apps are `*.e2e.spec.ts`. `--unit` runs
// only the first kind. Tests run from `dist/` (built by `tsc -b`), with source maps.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const workspace = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const roots = args.filter((arg) => !arg.startsWith('--'));

function projectRoots() {
  if (roots.length > 0) return roots.map((root) => join(workspace, root));
  return ['apps', 'libs'].flatMap((group) => {
    const dir = join(workspace, group);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  });
}

function specFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return specFiles(path);
    return entry.name.endsWith('.spec.js') ? [path] : [];
  });
}

const files = projectRoots()
  .flatMap((root) => specFiles(join(root, 'dist')))
  .filter((file) => !unitOnly || !/\.(int|e2e)\.spec\.js$/.test(file))
  .sort();

if (files.length === 0) {
  console.error(
    `no compiled test files found under ${roots.join(', ') || 'apps/ and libs/'}; run \`npm run build\` first`,
  );
  process.exit(1);
}

console.log(`running ${files.length} test files`);
for (const file of files) console.log(`  ${relative(workspace, file)}`);

const child = spawn(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${Math.max(2, availableParallelism())}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: workspace },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
