import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FailedPreconditionError, InvalidArgumentError } from '@caracal-deploy/errors';

import { parseJsonDiagnostics, parseTextDiagnostics, type OpaDiagnostic } from './diagnostics.js';
import { OpaCommandError, OpaPolicyError, opaBinaryMissing } from './opa-errors.js';

/** How to run the OPA CLI. */
export interface OpaCliOptions {
  /** Path of the `opa` binary (a bare `opa` is looked up on PATH). */
  readonly bin: string;
  /** Kill a single command after this many ms; defaults to 60000. */
  readonly timeoutMs?: number;
}

/** Where and how OPA loads the paths it is given. */
export interface LoadOptions {
  /** `--bundle`: load the paths as bundle roots, so `a/b/data.json` is mounted at `data.a.b`. */
  readonly bundle?: boolean;
  /** Working directory of the `opa` process; relative paths (also in diagnostics) are relative to it. */
  readonly cwd?: string;
}

/** Options of {@link OpaCli.check}. */
export interface CheckOptions extends LoadOptions {
  /** `--strict`: unused imports and variables, duplicate imports, … become errors. */
  readonly strict?: boolean;
  /** `--capabilities`: a capabilities JSON file; a builtin missing from it is an `undefined function` error. */
  readonly capabilitiesPath?: string;
}

/** OPA's own bundle signing (`.signatures.json`), as `opa build --signing-*` does it. */
export interface BundleSigningOptions {
  /** PEM file of the private key. */
  readonly keyPath: string;
  /** JWS algorithm, e.g. `ES256`. */
  readonly algorithm: string;
  /** JSON file of extra claims, e.g. `{"keyid": "..."}`, signed into the payload. */
  readonly claimsPath?: string;
}

/** Options of {@link OpaCli.buildWasm}. */
export interface BuildWasmOptions extends LoadOptions {
  /** Written to the bundle's `.manifest` as `revision`. */
  readonly revision?: string;
  /** `--ignore` patterns, e.g. `*_test.rego`. */
  readonly ignore?: readonly string[];
  /** Sign the bundle (needs `bundle: true`). */
  readonly signing?: BundleSigningOptions;
}

/** Options of {@link OpaCli.test}. */
export type TestOptions = LoadOptions;

/** One Rego unit test as `opa test --format json` reports it. */
export interface OpaTestResult {
  /** Package without the `data.` prefix, e.g. `caracal.authz_test`. */
  readonly package: string;
  readonly name: string;
  readonly file: string;
  readonly row: number;
  readonly col: number;
  readonly passed: boolean;
  /** Why it failed: `failed`, or the evaluation error OPA gave. */
  readonly message: string;
}

/** What {@link OpaCli.eval} evaluates against: a built bundle, or plain policy/data paths. */
export type EvalSource =
  | { readonly bundlePath: string; readonly dataPaths?: never }
  | { readonly dataPaths: readonly string[]; readonly bundlePath?: never };

/** Options of {@link OpaCli.eval}: the input document and what to evaluate against. */
export type EvalOptions = EvalSource & {
  /** The `input` document; omitted means no input. */
  readonly input?: unknown;
  /** `--strict`: compile in strict mode, as `opa check --strict` does. */
  readonly strict?: boolean;
  /** `--capabilities`: a capabilities JSON file. */
  readonly capabilitiesPath?: string;
  /** Working directory of the `opa` process. */
  readonly cwd?: string;
};

interface RawTestResult {
  readonly package?: string;
  readonly name?: string;
  readonly fail?: boolean;
  readonly error?: { readonly message?: string };
  readonly location?: { readonly file?: string; readonly row?: number; readonly col?: number };
}

interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The real `opa` binary, run with `execFile` (never through a shell) for the steps
 * Node cannot do itself: check, build to wasm, and reference evaluation.
 */
export class OpaCli {
  private readonly bin: string;
  private readonly timeoutMs: number;

  constructor(options: OpaCliOptions) {
    this.bin = options.bin;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** The binary's version, e.g. `1.22.3`. */
  async version(): Promise<string> {
    const { stdout } = await this.runOk(['version']);
    const match = /^Version:\s*v?(\S+)/m.exec(stdout);
    if (match?.[1] === undefined) {
      throw new OpaCommandError(
        `unexpected \`opa version\` output: ${stdout.slice(0, 200)}`,
        ['version'],
        '',
      );
    }
    return match[1];
  }

  /** `opa capabilities --current`: the builtins and features of this binary. */
  async capabilities(): Promise<{ builtins: { name: string }[]; [key: string]: unknown }> {
    const args = ['capabilities', '--current'];
    const result = await this.runOk(args);
    try {
      return JSON.parse(result.stdout) as { builtins: { name: string }[] };
    } catch (error) {
      throw new OpaCommandError(
        'opa capabilities printed something other than JSON',
        args,
        result.stderr,
        error,
      );
    }
  }

  /** Parses and compiles the Rego under `paths`; resolves with every problem found (empty = OK). */
  async check(paths: readonly string[], options: CheckOptions = {}): Promise<OpaDiagnostic[]> {
    requirePaths('paths', paths);
    const args = [
      'check',
      '--format',
      'json',
      // Report every error, not only the first ten.
      '--max-errors',
      '0',
      ...(options.strict ? ['--strict'] : []),
      ...(options.bundle ? ['--bundle'] : []),
      ...(options.capabilitiesPath === undefined
        ? []
        : ['--capabilities', options.capabilitiesPath]),
      '--',
      ...paths,
    ];
    const result = await this.run(args, undefined, options.cwd);
    if (result.exitCode === 0) return [];
    const diagnostics = parseJsonDiagnostics(result.stderr) ?? parseJsonDiagnostics(result.stdout);
    if (diagnostics === undefined || diagnostics.length === 0) throw this.failed(args, result);
    return diagnostics;
  }

  /**
   * Runs the Rego unit tests (`test_*` rules) under `paths` with `opa test`. Resolves
   * with one result per test; policies that do not compile reject with {@link OpaPolicyError}.
   */
  async test(paths: readonly string[], options: TestOptions = {}): Promise<OpaTestResult[]> {
    requirePaths('paths', paths);
    const args = [
      'test',
      '--format',
      'json',
      ...(options.bundle ? ['--bundle'] : []),
      '--',
      ...paths,
    ];
    const result = await this.run(args, undefined, options.cwd);
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.stdout);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) {
      const diagnostics =
        parseJsonDiagnostics(result.stdout) ??
        parseJsonDiagnostics(result.stderr) ??
        parseTextDiagnostics(`${result.stderr}\n${result.stdout}`);
      if (diagnostics.length > 0) {
        throw new OpaPolicyError(
          `opa test failed with ${diagnostics.length} problem(s)`,
          diagnostics,
        );
      }
      // No test rules at all prints nothing and exits 0.
      if (result.exitCode === 0 && result.stdout.trim() === '') return [];
      throw this.failed(args, result);
    }
    return (parsed as RawTestResult[]).map((raw) => ({
      package: (raw.package ?? '').replace(/^data\./, ''),
      name: raw.name ?? '',
      file: raw.location?.file ?? '',
      row: raw.location?.row ?? 0,
      col: raw.location?.col ?? 0,
      passed: raw.fail !== true && raw.error === undefined,
      message:
        raw.error !== undefined
          ? (raw.error.message ?? JSON.stringify(raw.error))
          : raw.fail === true
            ? 'failed'
            : '',
    }));
  }

  /**
   * Compiles the policy and data under `dir` to a wasm bundle for `entrypoints`
   * (e.g. `caracal/authz/result`) and returns the `bundle.tar.gz` bytes. Policy
   * errors reject with {@link OpaPolicyError}.
   */
  async buildWasm(
    dir: string,
    entrypoints: readonly string[],
    options: BuildWasmOptions = {},
  ): Promise<Uint8Array> {
    requirePaths('entrypoints', entrypoints);
    return withTempDir(async (tmp) => {
      const output = join(tmp, 'bundle.tar.gz');
      const args = [
        'build',
        '--target',
        'wasm',
        ...entrypoints.flatMap((entrypoint) => ['--entrypoint', entrypoint]),
        ...(options.revision === undefined ? [] : ['--revision', options.revision]),
        ...(options.bundle ? ['--bundle'] : []),
        ...(options.ignore ?? []).flatMap((pattern) => ['--ignore', pattern]),
        ...(options.signing === undefined
          ? []
          : [
              '--signing-key',
              options.signing.keyPath,
              '--signing-alg',
              options.signing.algorithm,
              ...(options.signing.claimsPath === undefined
                ? []
                : ['--claims-file', options.signing.claimsPath]),
            ]),
        '--output',
        output,
        '--',
        dir,
      ];
      const result = await this.run(args, undefined, options.cwd);
      if (result.exitCode !== 0) {
        const diagnostics = parseTextDiagnostics(`${result.stderr}\n${result.stdout}`);
        if (diagnostics.length > 0) {
          throw new OpaPolicyError(
            `opa build failed with ${diagnostics.length} problem(s)`,
            diagnostics,
          );
        }
        throw this.failed(args, result);
      }
      return new Uint8Array(await readFile(output));
    });
  }

  /** True when this binary embeds OPA's wasm engine, which `eval` needs for wasm bundles. */
  async hasWasmEngine(): Promise<boolean> {
    const { stdout } = await this.runOk(['version']);
    return /^WebAssembly:\s*available/m.test(stdout);
  }

  /**
   * Runs `opa eval` and returns the value of the query's first expression, or
   * `undefined` when the query is undefined. With `bundlePath` OPA evaluates that
   * bundle as deployed (for a wasm bundle: its `policy.wasm`, which needs
   * {@link OpaCli.hasWasmEngine}); with `dataPaths` it interprets Rego and data files.
   */
  async eval(query: string, options: EvalOptions): Promise<unknown> {
    const sources =
      options.bundlePath !== undefined
        ? ['--bundle', options.bundlePath]
        : options.dataPaths.flatMap((path) => ['--data', path]);
    const hasInput = options.input !== undefined;
    const args = [
      'eval',
      '--format',
      'json',
      ...(hasInput ? ['--stdin-input'] : []),
      ...(options.strict ? ['--strict'] : []),
      ...(options.capabilitiesPath === undefined
        ? []
        : ['--capabilities', options.capabilitiesPath]),
      ...sources,
      '--',
      query,
    ];
    const result = await this.run(
      args,
      hasInput ? JSON.stringify(options.input) : undefined,
      options.cwd,
    );
    if (result.exitCode !== 0) {
      const diagnostics =
        parseJsonDiagnostics(result.stdout) ?? parseJsonDiagnostics(result.stderr);
      if (diagnostics?.some((diagnostic) => diagnostic.message.includes('engine not found'))) {
        throw new FailedPreconditionError(
          `${this.bin} was built without OPA's wasm engine, so it cannot evaluate the wasm bundle ${options.bundlePath ?? ''}. ` +
            'Build opa with `go install -tags opa_wasm` (tools/infra), or evaluate the policy sources with dataPaths.',
          { details: { bin: this.bin } },
        );
      }
      if (diagnostics !== undefined && diagnostics.length > 0) {
        throw new OpaPolicyError(
          `opa eval of ${query} failed: ${diagnostics[0]?.message ?? ''}`,
          diagnostics,
        );
      }
      throw this.failed(args, result);
    }
    let output: { result?: { expressions?: { value?: unknown }[] }[] };
    try {
      output = JSON.parse(result.stdout) as typeof output;
    } catch (error) {
      throw new OpaCommandError(
        'opa eval printed something other than JSON',
        args,
        result.stderr,
        error,
      );
    }
    return output.result?.[0]?.expressions?.[0]?.value;
  }

  private async runOk(args: readonly string[]): Promise<RunResult> {
    const result = await this.run(args);
    if (result.exitCode !== 0) throw this.failed(args, result);
    return result;
  }

  private failed(args: readonly string[], result: RunResult): OpaCommandError {
    const detail = (result.stderr || result.stdout).trim().slice(0, 2_000);
    return new OpaCommandError(
      `opa ${args[0] ?? ''} exited with ${result.exitCode}: ${detail}`,
      args,
      result.stderr,
      undefined,
      result.exitCode,
    );
  }

  private run(args: readonly string[], stdin?: string, cwd?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.bin,
        args,
        {
          timeout: this.timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
          encoding: 'utf8',
          ...(cwd === undefined ? {} : { cwd }),
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ exitCode: 0, stdout, stderr });
          } else if (typeof error.code === 'number' && !error.killed) {
            resolve({ exitCode: error.code, stdout, stderr });
          } else if (error.code === 'ENOENT' || error.code === 'EACCES') {
            reject(opaBinaryMissing(this.bin, error));
          } else {
            const why = error.killed
              ? `was killed after ${this.timeoutMs} ms`
              : `failed: ${error.message}`;
            reject(new OpaCommandError(`opa ${args[0] ?? ''} ${why}`, args, stderr, error));
          }
        },
      );
      // Without a handler, EPIPE from a child that exits before reading all input would crash us.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(stdin);
    });
  }
}

function requirePaths(field: string, values: readonly string[]): void {
  if (values.length === 0 || values.some((value) => value.length === 0)) {
    throw new InvalidArgumentError(`opa needs at least one ${field.replace(/s$/, '')}`, {
      violations: [{ field, problem: `expected non-empty strings, got ${JSON.stringify(values)}` }],
    });
  }
}

async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'caracal-opa-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
