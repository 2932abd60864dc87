// Derives the builtins a policy may not use because the opa-wasm SDK cannot run
// them, and writes apps/policy-validator/src/builtins/wasm-unsupported.json.
//
//   node tools/opa/derive-wasm-builtins.mjs [--opa <bin>] [--out <file>]
//
// For every builtin of `opa capabilities --current`, a one-rule probe policy
// calling it is compiled with `opa build -t wasm`:
//   - the compile fails        -> OPA's wasm target cannot compile the builtin;
//   - the compile succeeds     -> the builtins the module imports from its host
//     (the `builtins` export, exactly what @open-policy-agent/opa-wasm reads in
//     `_loadPolicy`) must each be implemented by the SDK in JS (the keys of its
//     `src/builtins/index.js`, the map `_builtinCall` dispatches on); a builtin
//     the module imports but the SDK lacks fails at evaluation time with
//     "not implemented: built-in function", so it is unsupported too.
// Builtins OPA implements natively inside the wasm module import nothing and pass.
// `internal.*` builtins are compiler plumbing, not callable from Rego, and skipped;
// so are deprecated ones, which `opa check` already rejects in Rego v1.
// The output records the OPA and SDK versions it was derived from; a unit test of
// the app fails when the pinned OPA (tools/infra/lib/opa.sh) moves on without it.
import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

const run = promisify(execFile);
const workspace = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : args[index + 1];
};
const opa = flag('--opa', process.env.CARACAL_OPA_BIN || join(workspace, '.local/bin/opa'));
const out = flag(
  '--out',
  join(workspace, 'apps/policy-validator/src/builtins/wasm-unsupported.json'),
);
// Each probe is one `opa build`; two at a time keeps a laptop responsive.
const parallelism = 2;

const require = createRequire(join(workspace, 'package.json'));
// The SDK's package exports hide its files; read them from its directory.
const sdkDir = join(workspace, 'node_modules/@open-policy-agent/opa-wasm');
const sdkPackage = JSON.parse(await readFile(join(sdkDir, 'package.json'), 'utf8'));
const sdkBuiltins = new Set(Object.keys(require(join(sdkDir, 'src/builtins/index.js'))));

const { stdout: versionText } = await run(opa, ['version']);
const opaVersion = /^Version:\s*v?(\S+)/m.exec(versionText)?.[1];
if (!opaVersion) throw new Error(`cannot read the version of ${opa}`);
if (!/^WebAssembly:\s*available/m.test(versionText)) {
  console.warn(`note: ${opa} has no wasm engine; building wasm does not need it`);
}
const capabilities = JSON.parse((await run(opa, ['capabilities', '--current'])).stdout);

/** A probe rule using `builtin`, with arguments of type any (from `input`). */
function probe(builtin) {
  const decl = builtin.decl ?? {};
  const arity = decl.args?.length ?? 0;
  const argsText = Array.from({ length: arity }, (_, i) => `input.a${i}`);
  let body;
  if (builtin.infix === ':=' || builtin.infix === '=') {
    // Assignment and unification are language, used infix only.
    body = `x ${builtin.infix} input.a0\n\tx == x`;
  } else if (builtin.infix !== undefined && decl.result?.type === 'boolean') {
    body = `input.a0 ${builtin.infix} input.a1`;
  } else if (builtin.infix !== undefined) {
    body = `x := input.a0 ${builtin.infix} input.a1\n\tx == x`;
  } else if (decl.result === undefined) {
    // Void builtins (print) have no output argument.
    body = `${builtin.name}(${argsText.join(', ')})`;
  } else {
    body = `${builtin.name}(${[...argsText, 'x'].join(', ')})\n\tx == x`;
  }
  return ['package probe', '', 'p if {', `\t${body}`, '}', ''].join('\n');
}

function readTarFile(tar, wanted) {
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '').replace(/^\/+/, '');
    const size = Number.parseInt(
      header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (name === wanted) return body;
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The names a compiled module imports from its host (its `builtins` export). */
async function hostBuiltins(wasmBytes) {
  const module = await globalThis.WebAssembly.compile(wasmBytes);
  const memory = new globalThis.WebAssembly.Memory({ initial: 5 });
  const stub = () => 0;
  const instance = await globalThis.WebAssembly.instantiate(module, {
    env: {
      memory,
      opa_abort: stub,
      opa_println: stub,
      opa_builtin0: stub,
      opa_builtin1: stub,
      opa_builtin2: stub,
      opa_builtin3: stub,
      opa_builtin4: stub,
    },
  });
  const { builtins, opa_json_dump: dump } = instance.exports;
  const address = dump(builtins());
  const bytes = new Uint8Array(memory.buffer, address);
  const text = Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString('utf8');
  return Object.keys(JSON.parse(text));
}

async function classify(builtin, root) {
  const dir = await mkdtemp(join(root, 'probe-'));
  try {
    await writeFile(join(dir, 'probe.rego'), probe(builtin));
    const bundle = join(dir, 'bundle.tar.gz');
    try {
      await run(opa, [
        'build',
        '-t',
        'wasm',
        '-e',
        'probe/p',
        '-o',
        bundle,
        join(dir, 'probe.rego'),
      ]);
    } catch (error) {
      const output = `${error.stdout ?? ''}\n${error.stderr ?? ''}`;
      const line = output.split('\n').find((text) => text.includes('rego_')) ?? output.trim();
      return {
        reason: `opa build -t wasm cannot compile it: ${line.replace(/^.*?(rego_\w+)/, '$1')}`,
      };
    }
    const wasm = readTarFile(gunzipSync(await readFile(bundle)), 'policy.wasm');
    if (wasm === undefined) throw new Error(`no policy.wasm built for ${builtin.name}`);
    const missing = (await hostBuiltins(wasm)).filter((name) => !sdkBuiltins.has(name));
    if (missing.length > 0) {
      return {
        reason: `the wasm module imports ${missing.join(', ')} from its host and opa-wasm ${sdkPackage.version} does not implement ${missing.length > 1 ? 'them' : 'it'}`,
      };
    }
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Deprecated builtins (all, any, cast_*, re_match, set_diff, net.cidr_overlap) are
// rejected by OPA's own v1 compiler wherever they are used, so they need no entry.
const candidates = capabilities.builtins.filter(
  (builtin) => !builtin.name.startsWith('internal.') && builtin.deprecated !== true,
);
const root = await mkdtemp(join(tmpdir(), 'caracal-wasm-builtins-'));
const unsupported = {};
try {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < candidates.length) {
        const builtin = candidates[next++];
        const verdict = await classify(builtin, root);
        if (verdict) unsupported[builtin.name] = verdict.reason;
      }
    }),
  );
} finally {
  await rm(root, { recursive: true, force: true });
}

const names = Object.keys(unsupported).sort();
const document = {
  description:
    'Builtins the opa-wasm SDK cannot evaluate; derived by tools/opa/derive-wasm-builtins.mjs, do not edit by hand.',
  opa_version: opaVersion,
  opa_wasm_sdk_version: sdkPackage.version,
  checked: candidates.length,
  builtins: names,
  reasons: Object.fromEntries(names.map((name) => [name, unsupported[name]])),
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(document, null, 2)}\n`);
console.log(
  `${names.length} of ${candidates.length} builtins unsupported by opa-wasm ${sdkPackage.version} with opa ${opaVersion}; wrote ${out}`,
);
