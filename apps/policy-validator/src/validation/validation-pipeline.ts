import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { FailedPreconditionError, UnavailableError } from '@caracal-deploy/errors';
import {
  OpaCli,
  OpaCommandError,
  OpaPolicyError,
  loadWasmPolicy,
  readBundle,
  type OpaDiagnostic,
  type OpaTestResult,
} from '@caracal-deploy/opa';

import { BuiltinRules } from '../builtins/builtin-rules.js';
import { loadBundleSigningKey, type BundleSigningKey } from '../signing/bundle-signing-key.js';
import { checkCatalogInvariants } from './catalog-invariants.js';
import { checkDecisionContract } from './decision-contract.js';
import { runPackTests, wasmEntrypoint } from './pack-tests.js';
import { readPolicySource, type PolicySourceInput } from './policy-source.js';
import { discoverRegoTests, regoTestQuery, regoTestResults } from './rego-unit-tests.js';
import { lintTerminology } from './terminology-lint.js';
import {
  error,
  type PolicySourceSet,
  type ValidationFinding,
  type ValidationReport,
  type ValidationTestResult,
} from './validation-model.js';

/** How the pipeline runs OPA and signs bundles. */
export interface ValidationPipelineOptions {
  readonly opaBin: string;
  /** Per OPA command; default 60 s. */
  readonly opaTimeoutMs?: number;
  readonly signing: {
    readonly keyFile: string;
    readonly keyId: string;
    readonly autogenerate: boolean;
  };
  readonly deprecatedTerms: ReadonlyMap<string, string>;
  readonly builtinRules?: BuiltinRules;
  /** Receives operational warnings (generated dev key, stale builtin list). */
  readonly warn?: (message: string) => void;
}

/** What BuildBundle returns: the validation always, the signed bundle only when valid. */
export interface BundleBuild {
  readonly validation: ValidationReport;
  readonly bundle?: Uint8Array;
  readonly bundleSha256?: string;
  readonly signingKeyId: string;
  readonly signingAlgorithm: string;
}

interface Environment {
  readonly opaVersion: string;
  /** Per-process scratch directory: capabilities file, claims file, request dirs. */
  readonly workDir: string;
  readonly capabilitiesPath: string;
}

/**
 * Validate and BuildBundle: writes the sources once into a scratch directory and
 * runs two OPA processes side by side: `opa eval --strict` with the restricted
 * capabilities (the compile `opa check --strict` does, plus the Rego unit tests
 * in the same process) and `opa build -t wasm` (signed, for BuildBundle). Only
 * when the first fails does `opa check --format json` run for exact diagnostics
 * (file, row, column), and `opa test` when a test errored at evaluation time. The
 * static checks (decision contract, catalog invariants, terminology) run in
 * process; the pack tests run on the wasm module just built — the bytes that
 * ship. OPA missing or crashing fails the whole call with
 * {@link UnavailableError}; no partial report is ever returned.
 */
export class ValidationPipeline {
  private readonly opa: OpaCli;
  private readonly rules: BuiltinRules;
  private readonly warn: (message: string) => void;
  private environment: Promise<Environment> | undefined;
  private signingKey: Promise<BundleSigningKey & { claimsPath: string }> | undefined;

  constructor(private readonly options: ValidationPipelineOptions) {
    this.opa = new OpaCli({ bin: options.opaBin, timeoutMs: options.opaTimeoutMs ?? 60_000 });
    this.rules = options.builtinRules ?? new BuiltinRules();
    this.warn = options.warn ?? (() => undefined);
  }

  /** Runs every check and returns every finding. */
  async validate(input: PolicySourceInput): Promise<ValidationReport> {
    return (await this.run(input, undefined)).report;
  }

  /** Validates and, only when valid, returns the signed bundle whose `.manifest` revision is `revision`. */
  async buildBundle(input: PolicySourceInput, revision: string): Promise<BundleBuild> {
    const key = await this.key();
    const { report, bundle } = await this.run(input, { revision, key });
    const signing = { signingKeyId: key.keyId, signingAlgorithm: key.algorithm };
    if (!report.valid || bundle === undefined) return { validation: report, ...signing };
    return {
      validation: report,
      bundle,
      bundleSha256: createHash('sha256').update(bundle).digest('hex'),
      ...signing,
    };
  }

  /** The public half of the signing key (for verifiers and tests). */
  async publicKeyPem(): Promise<string> {
    return (await this.key()).publicKeyPem;
  }

  /** Removes the scratch directory. */
  async close(): Promise<void> {
    const environment = await this.environment?.catch(() => undefined);
    this.environment = undefined;
    if (environment) await rm(environment.workDir, { recursive: true, force: true });
  }

  private async run(
    input: PolicySourceInput,
    build: { revision: string; key: BundleSigningKey & { claimsPath: string } } | undefined,
  ): Promise<{ report: ValidationReport; bundle?: Uint8Array }> {
    const { source, findings: inputFindings } = readPolicySource(input);
    const environment = await this.env();
    const dir = await mkdtemp(join(environment.workDir, 'request-'));
    try {
      await writeSources(dir, source);
      const regoTests = discoverRegoTests(source.modules);
      // Fast path: one strict compile with the restricted capabilities that also
      // runs the Rego unit tests, beside the wasm build. Only when it fails does
      // `opa check` (exact diagnostics with columns) or `opa test` (per-test
      // errors) run.
      const running = Promise.allSettled([
        this.opa.eval(regoTestQuery(regoTests), {
          bundlePath: '.',
          cwd: dir,
          strict: true,
          capabilitiesPath: environment.capabilitiesPath,
        }),
        this.opa.buildWasm('.', [wasmEntrypoint], {
          bundle: true,
          cwd: dir,
          ignore: ['*_test.rego'],
          ...(build === undefined
            ? {}
            : {
                revision: build.revision,
                signing: {
                  keyPath: build.key.keyPath,
                  algorithm: build.key.algorithm,
                  claimsPath: build.key.claimsPath,
                },
              }),
        }),
      ]);
      // The static checks run while OPA works.
      const staticContract = checkDecisionContract(source.modules);
      const catalogFindings = checkCatalogInvariants(source.modules, source.data, source.catalog);
      const termFindings = lintTerminology(
        source.modules,
        source.data,
        this.options.deprecatedTerms,
      );
      const [evaluated, built] = await running;
      // A successful build for the entrypoint proves it exists, whatever its layout.
      const contract =
        built.status === 'fulfilled'
          ? staticContract.filter((finding) => finding.code !== 'missing_entrypoint')
          : staticContract;
      // Anything but a policy problem means OPA itself failed: no half report.
      const buildProblems = built.status === 'fulfilled' ? [] : policyProblems(built.reason);
      let compileDiagnostics: OpaDiagnostic[] = [];
      const testFindings: ValidationFinding[] = [];
      const tests: ValidationTestResult[] = [];
      if (evaluated.status === 'fulfilled') {
        const rego = regoTestOutcome(regoTestResults(regoTests, evaluated.value));
        testFindings.push(...rego.findings);
        tests.push(...rego.results);
      } else {
        const evalProblems = policyProblems(evaluated.reason);
        compileDiagnostics = await this.opa
          .check(['.'], {
            strict: true,
            bundle: true,
            cwd: dir,
            capabilitiesPath: environment.capabilitiesPath,
          })
          .catch((thrown: unknown) => policyProblems(thrown));
        if (compileDiagnostics.length === 0 && regoTests.length > 0) {
          // It compiles, so a test failed at evaluation time: `opa test` says which.
          try {
            const rego = regoTestOutcome(await this.opa.test(['.'], { bundle: true, cwd: dir }));
            testFindings.push(...rego.findings);
            tests.push(...rego.results);
          } catch (thrown) {
            testFindings.push(
              ...policyProblems(thrown).map((d) => compileFinding(d, 'rego_test_failed')),
            );
          }
        } else if (compileDiagnostics.length === 0) {
          compileDiagnostics = evalProblems;
        }
      }

      const findings: ValidationFinding[] = [...inputFindings];
      findings.push(...compileDiagnostics.map((diagnostic) => this.compileFinding(diagnostic)));
      findings.push(...contract);
      findings.push(...catalogFindings);
      const compiles =
        compileDiagnostics.length === 0 &&
        !inputFindings.some((finding) => finding.code === 'invalid_data_json');
      if (compiles) findings.push(...testFindings);

      let bundle: Uint8Array | undefined;
      if (compiles && contract.length === 0) {
        if (built.status === 'fulfilled') {
          bundle = built.value;
          const { wasm, data } = readBundle(bundle);
          const policy = await loadWasmPolicy(wasm, data);
          const pack = runPackTests(policy, source.tests);
          findings.push(...pack.findings);
          tests.push(...pack.results);
        } else {
          // Compiles for OPA but not for its wasm target.
          findings.push(...buildProblems.map((d) => compileFinding(d, 'rego_compile_error')));
        }
      }

      findings.push(...termFindings);
      const valid = !findings.some((finding) => finding.severity === 'error');
      return {
        report: { valid, findings, tests, opaVersion: environment.opaVersion },
        ...(valid && bundle !== undefined ? { bundle } : {}),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private compileFinding(diagnostic: OpaDiagnostic): ValidationFinding {
    const undefinedFunction = /^undefined function (\S+)$/.exec(diagnostic.message);
    const builtin = undefinedFunction?.[1];
    const verdict = builtin === undefined ? 'allowed' : this.rules.verdict(builtin);
    if (builtin === undefined || verdict === 'allowed')
      return compileFinding(diagnostic, 'rego_compile_error');
    const location = locationOf(diagnostic);
    if (verdict === 'blocked') {
      return error(
        'blocked_builtin',
        `${location.file}:${location.line}:${location.column}: builtin ${builtin} is blocked: a decision must not depend on the network, the OPA runtime, randomness or the clock`,
        location,
        { builtin },
      );
    }
    const reason =
      this.rules.wasmUnsupported.reasons[builtin] ?? 'not implemented by the opa-wasm SDK';
    return error(
      'wasm_unsupported_builtin',
      `${location.file}:${location.line}:${location.column}: builtin ${builtin} cannot run in the STS's wasm evaluator: ${reason}`,
      location,
      { builtin },
    );
  }

  private env(): Promise<Environment> {
    this.environment ??= this.loadEnvironment().catch((thrown: unknown) => {
      // Retry on the next call: OPA may be installed by then.
      this.environment = undefined;
      throw asUnavailable(thrown);
    });
    return this.environment;
  }

  private async loadEnvironment(): Promise<Environment> {
    const [opaVersion, capabilities] = await Promise.all([
      this.opa.version(),
      this.opa.capabilities(),
    ]);
    if (opaVersion !== this.rules.wasmUnsupported.opa_version) {
      this.warn(
        `the wasm-unsupported builtin list was derived with OPA ${this.rules.wasmUnsupported.opa_version}, but ${this.options.opaBin} is ${opaVersion}; rerun tools/opa/derive-wasm-builtins.mjs`,
      );
    }
    const workDir = await mkdtemp(join(tmpdir(), 'caracal-validator-'));
    const capabilitiesPath = join(workDir, 'capabilities.json');
    await writeFile(capabilitiesPath, JSON.stringify(this.rules.restrict(capabilities)));
    return { opaVersion, workDir, capabilitiesPath };
  }

  private key(): Promise<BundleSigningKey & { claimsPath: string }> {
    this.signingKey ??= (async () => {
      const [key, environment] = await Promise.all([
        loadBundleSigningKey({ ...this.options.signing, warn: this.warn }),
        this.env(),
      ]);
      // The key id travels in the signed payload (`keyid`), where OPA reads it.
      const claimsPath = join(environment.workDir, 'signing-claims.json');
      await writeFile(claimsPath, JSON.stringify({ keyid: key.keyId }));
      return { ...key, claimsPath };
    })().catch((thrown: unknown) => {
      this.signingKey = undefined;
      throw thrown;
    });
    return this.signingKey;
  }
}

async function writeSources(dir: string, source: PolicySourceSet): Promise<void> {
  const files = [
    ...source.modules.map((module) => [module.path, module.source] as const),
    ...source.data.map((document) => [document.path, document.text] as const),
  ];
  const dirs = new Set(files.map(([path]) => dirname(join(dir, path))));
  await Promise.all([...dirs].map((path) => mkdir(path, { recursive: true })));
  await Promise.all(files.map(([path, content]) => writeFile(join(dir, path), content)));
}

function locationOf(diagnostic: OpaDiagnostic): { file: string; line: number; column: number } {
  return {
    file: diagnostic.file.replace(/^(\.\/)+/, ''),
    line: diagnostic.row,
    column: diagnostic.col,
  };
}

function compileFinding(diagnostic: OpaDiagnostic, code: string): ValidationFinding {
  const location = locationOf(diagnostic);
  const where =
    location.file === '' ? '' : `${location.file}:${location.line}:${location.column}: `;
  return error(
    code,
    `${where}${diagnostic.code}: ${diagnostic.message}`,
    location.file === '' ? undefined : location,
    {
      opa_code: diagnostic.code,
    },
  );
}

function regoTestOutcome(results: readonly OpaTestResult[]): {
  findings: ValidationFinding[];
  results: ValidationTestResult[];
} {
  const findings: ValidationFinding[] = [];
  const tests: ValidationTestResult[] = [];
  // `opa test` reports in no stable order; source order reads best and stays put.
  const ordered = [...results].sort((a, b) => a.file.localeCompare(b.file) || a.row - b.row);
  for (const result of ordered) {
    const name = `${result.package}.${result.name}`;
    tests.push({ name, kind: 'rego', passed: result.passed, message: result.message });
    if (!result.passed) {
      findings.push(
        error(
          'rego_test_failed',
          `${result.file}:${result.row}: Rego test ${name} ${result.message === 'failed' ? 'failed' : `errored: ${result.message}`}`,
          { file: result.file.replace(/^(\.\/)+/, ''), line: result.row, column: result.col },
          { test: name },
        ),
      );
    }
  }
  return { findings, results: tests };
}

/**
 * What OPA said about the policy when a command failed because of it: the
 * diagnostics of an {@link OpaPolicyError}, or the text of a command that ran to
 * completion with a non-zero exit (e.g. "entrypoint … does not refer to a rule").
 * Anything else — OPA missing, killed, timed out, panicking — is rethrown as
 * {@link UnavailableError}.
 */
function policyProblems(thrown: unknown): OpaDiagnostic[] {
  if (thrown instanceof OpaPolicyError) return [...thrown.diagnostics];
  if (
    thrown instanceof OpaCommandError &&
    thrown.exitCode !== undefined &&
    !/\bpanic:/.test(thrown.stderr)
  ) {
    const text = thrown.stderr.trim() || thrown.message;
    return [{ file: '', row: 0, col: 0, code: 'opa_error', message: text.replace(/^error: /, '') }];
  }
  throw asUnavailable(thrown);
}

/** OPA missing, not executable, crashing or timing out: the call can be retried later. */
function asUnavailable(thrown: unknown): unknown {
  if (thrown instanceof UnavailableError) return thrown;
  if (thrown instanceof FailedPreconditionError && thrown.details['bin'] !== undefined) {
    return new UnavailableError(thrown.message, { cause: thrown, details: thrown.details });
  }
  if (thrown instanceof OpaCommandError) {
    return new UnavailableError(`OPA failed: ${thrown.message}`, { cause: thrown });
  }
  return thrown;
}
