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

/** Options of {@link OpaCli.check}. */
export interface CheckOptions {
  /** `--strict`: unused imports and variables, duplicate imports, … become errors. */
  readonly strict?: boolean;
}

/** Options of {@link OpaCli.buildWasm}. */
export interface BuildWasmOptions {
  /** Written to the bundle's `.manifest` as `revision`. */
  readonly revision?: string;
}

/** What {@link OpaCli.eval} evaluates against: a built bundle, or plain policy/data paths. */
export type EvalSource =
  | { readonly bundlePath: string; readonly dataPaths?: never }
  | { readonly dataPaths: readonly string[]; readonly bundlePath?: never };

/** Options of {@link OpaCli.eval}: the input document and what to evaluate against. */
export type EvalOptions = EvalSource & {
  /** The `input` document; omitted means no input. */
  readonly input?: unknown;
};

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

  /** Parses and compiles the Rego under `paths`; resolves with every problem found (empty = OK). */
  async check(paths: readonly string[], options: CheckOptions = {}): Promise<OpaDiagnostic[]> {
    requirePaths('paths', paths);
    const args = [
      'check',
      '--format',
      'json',
      ...(options.strict ? ['--strict'] : []),
      '--',
      ...paths,
    ];
    const result = await this.run(args);
    if (result.exitCode === 0) return [];
    const diagnostics = parseJsonDiagnostics(result.stderr) ?? parseJsonDiagnostics(result.stdout);
    if (diagnostics === undefined || diagnostics.length === 0) throw this.failed(args, result);
    return diagnostics;
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
        '--output',
        output,
        '--',
        dir,
      ];
      const result = await this.run(args);
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
      ...sources,
      '--',
      query,
    ];
    const result = await this.run(args, hasInput ? JSON.stringify(options.input) : undefined);
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
    );
  }

  private run(args: readonly string[], stdin?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.bin,
        args,
        { timeout: this.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
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
