import { Decision, Severity } from '@caracal-deploy/contracts';
import {
  AdminApiError,
  AdminClient,
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  ProtocolError,
  UnauthorizedError,
  UnavailableError,
  ValidationFailedError,
  type GetDeploymentResponse,
} from '@caracal-deploy/sdk';

import { type FlagSpec, parseArgs, type ParsedArgs, required, UsageError } from './args.js';
import { DeploymentProgress } from './deployment-progress.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readCases, readPolicySource, readStages, windowStart } from './inputs.js';
import {
  LocalValidatorError,
  localRevision,
  protoCases,
  protoSource,
  readCatalog,
  withLocalValidator,
} from './local-validator.js';

/** Where the CLI writes and what environment it reads. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** The default Admin API address (the server's default bind). */
export const defaultAdminUrl = 'http://127.0.0.1:8470';

const globalFlags: FlagSpec = { url: 'string', token: 'string', json: 'boolean', help: 'boolean' };

/** The usage text printed for `--help` and every usage error. */
export const usage = `usage: caracal-deploy <command> [flags]

commands:
  policy push <dir|pack.json> --zone Z --policy P    upload a policy version (validated by the server)
  set version create --zone Z --set S --policy-version ID [--policy-version ID…]
  validate --zone Z --set S --version ID            show a set version's verdict (exit 3 when invalid)
  validate --local <dir|pack.json> [--zone Z] [--catalog FILE]        offline, same validator + OPA
  simulate --zone Z --set S --version ID --cases FILE [--against-live]
  simulate --local <dir|pack.json> --cases FILE [--zone Z] [--catalog FILE]
  replay --zone Z --set S --version ID --window 1h [--max-samples N] [--gate CLAUSES]
  activate --zone Z --version ID --expected-active ID|"" [--reason R] [--wait]
  deploy --version ID --stages FILE [--zone Z --set S] [--reason R] [--wait]
    (activate, deploy and rollback take --idempotency-key K: a re-run with K acts once)
  status --zone Z [--activation ID] | status --deployment ID
  rollback --zone Z [--reason R] [--expected-active ID] [--wait]
  history [--zone Z] [--kind activations|rollbacks|registry] [--limit N]

global flags:
  --url URL      Admin API (env CARACAL_ADMIN_URL, default ${defaultAdminUrl})
  --token T      API token (env CARACAL_ADMIN_TOKEN)
  --json         machine output: one JSON document (or NDJSON lines with --wait)
  --help         this text

exit codes: 0 ok, 1 internal, 2 usage, 3 validation failed, 4 simulation/replay gate failed,
  5 verification failed/rolled back, 6 unreachable, 7 auth failed, 8 request refused`;

interface Context {
  readonly args: ParsedArgs;
  readonly json: boolean;
  readonly io: CliIo;
  client(): AdminClient;
  /** Human text (suppressed with --json). */
  say(text: string): void;
  /** The machine result (printed only with --json). */
  emit(value: unknown): void;
}

interface Command {
  readonly flags: FlagSpec;
  /** How many positional arguments it takes: exactly, or `[min, max]`. */
  readonly positionals: number | readonly [number, number];
  run(context: Context): Promise<ExitCodeValue>;
}

const zoneSetVersion = { zone: 'string', set: 'string', version: 'string' } as const;

const commands: Readonly<Record<string, Command>> = {
  'policy push': {
    flags: { zone: 'string', policy: 'string' },
    positionals: 1,
    async run(c) {
      const zone = required(c.args, 'zone');
      const policy = required(c.args, 'policy');
      const source = readPolicySource(c.args.positionals[0] ?? '');
      const client = c.client();
      await client.policies.create(zone, { name: policy }).catch(ignore(ConflictError));
      const answer =
        source.kind === 'pack'
          ? await client.policies.uploadPack(zone, policy, source.body)
          : await client.policies.createVersion(zone, policy, source.body);
      const version = answer.value;
      c.emit({ created: answer.created, version });
      c.say(
        `${answer.created ? 'created' : 'unchanged (identical content exists)'}: policy version ${version.id}\n` +
          `  content sha256 ${version.content_sha256}\n  verdict ${version.verdict?.valid ? 'valid' : 'not valid'}` +
          warnings(version.verdict?.findings ?? []),
      );
      return version.verdict?.valid === false ? ExitCode.validationFailed : ExitCode.ok;
    },
  },
  'set version create': {
    flags: { zone: 'string', set: 'string', 'policy-version': 'list' },
    positionals: 0,
    async run(c) {
      const zone = required(c.args, 'zone');
      const set = required(c.args, 'set');
      const ids = c.args.lists.get('policy-version') ?? [];
      if (ids.length === 0)
        throw new UsageError('--policy-version is required (repeat it for each)');
      const client = c.client();
      await client.policySets.create(zone, { name: set }).catch(ignore(ConflictError));
      const answer = await client.policySets.createVersion(zone, set, {
        policy_version_ids: [...ids],
      });
      const version = answer.value;
      c.emit({ created: answer.created, version });
      c.say(
        `${answer.created ? 'created' : 'unchanged (same manifest exists)'}: policy-set version ${version.id}\n` +
          `  manifest sha256 ${version.manifest_sha256}\n  verdict ${version.verdict?.valid ? 'valid' : 'not valid'}` +
          warnings(version.verdict?.findings ?? []),
      );
      return version.verdict?.valid === false ? ExitCode.validationFailed : ExitCode.ok;
    },
  },
  validate: {
    flags: { ...zoneSetVersion, local: 'boolean', catalog: 'string' },
    positionals: [0, 1],
    async run(c) {
      if (c.args.booleans.has('local')) return validateLocally(c);
      noPositionals(c, 'validate');
      const version = await c
        .client()
        .policySets.getVersion(
          required(c.args, 'zone'),
          required(c.args, 'set'),
          required(c.args, 'version'),
        );
      c.emit(version);
      const verdict = version.verdict;
      if (!verdict) {
        c.say(`policy-set version ${version.id} has no verdict yet`);
        return ExitCode.validationFailed;
      }
      c.say(
        `policy-set version ${version.id}: ${verdict.valid ? 'valid' : 'INVALID'} (OPA ${verdict.opa_version})` +
          findingLines(verdict.findings) +
          verdict.tests
            .map((t) => `\n  test ${t.passed ? 'pass' : 'FAIL'} ${t.name} ${t.message}`)
            .join(''),
      );
      return verdict.valid ? ExitCode.ok : ExitCode.validationFailed;
    },
  },
  simulate: {
    flags: {
      ...zoneSetVersion,
      cases: 'string',
      'against-live': 'boolean',
      local: 'boolean',
      catalog: 'string',
    },
    positionals: [0, 1],
    async run(c) {
      if (c.args.booleans.has('local')) return simulateLocally(c);
      noPositionals(c, 'simulate');
      const zone = required(c.args, 'zone');
      const set = required(c.args, 'set');
      const id = required(c.args, 'version');
      const cases = readCases(required(c.args, 'cases'));
      const result = await c.client().policySets.simulate(zone, set, id, {
        cases,
        ...(c.args.booleans.has('against-live') ? { against_live: true } : {}),
      });
      c.emit(result);
      for (const row of result.results) {
        const actual = row.candidate?.decision ?? 'invalid';
        const flip = row.flipped ? ` (flipped from ${row.baseline?.decision ?? '?'})` : '';
        c.say(
          `${row.passed ? 'pass' : 'FAIL'}  ${row.name}: expected ${row.expected_decision ?? '-'}, got ${actual}${flip}`,
        );
      }
      const { passed, failed, flipped, invalid } = result.summary;
      c.say(`${passed} passed, ${failed} failed, ${flipped} flipped, ${invalid} invalid`);
      return failed > 0 || invalid > 0 ? ExitCode.gateFailed : ExitCode.ok;
    },
  },
  replay: {
    flags: { ...zoneSetVersion, window: 'string', 'max-samples': 'string', gate: 'string' },
    positionals: 0,
    async run(c) {
      const zone = required(c.args, 'zone');
      const set = required(c.args, 'set');
      const id = required(c.args, 'version');
      const window = c.args.strings.get('window');
      const maxSamples = c.args.strings.get('max-samples');
      if (window === undefined && maxSamples === undefined) {
        throw new UsageError('--window (or --max-samples) is required');
      }
      if (maxSamples !== undefined && !/^\d+$/.test(maxSamples)) {
        throw new UsageError(`--max-samples: expected a whole number, saw "${maxSamples}"`);
      }
      const gate = c.args.strings.get('gate');
      const stream = c.client().policySets.replayStream(zone, set, id, {
        ...(window === undefined ? {} : { window: { from: windowStart(window) } }),
        ...(maxSamples === undefined ? {} : { max_samples: Number(maxSamples) }),
        ...(gate === undefined ? {} : { gate }),
      });
      for await (const line of stream) {
        if (line.type === 'progress') {
          c.say(`read ${line.read}, evaluated ${line.evaluated}, invalid ${line.invalid}`);
          continue;
        }
        if (line.type !== 'result') continue;
        c.emit(line);
        const t = line.totals;
        c.say(
          `replay ${line.result.toUpperCase()}: ${t.evaluated} evaluated, ${t.unchanged} unchanged, ` +
            `${t.allow_to_deny} allow→deny, ${t.deny_to_allow} deny→allow, ${t.newly_erroring} newly erroring` +
            line.gate.reasons.map((r) => `\n  ${r}`).join(''),
        );
        return line.result === 'pass' ? ExitCode.ok : ExitCode.gateFailed;
      }
      throw new ProtocolError('the replay stream ended without a result', {
        status: 0,
        code: 'PROTOCOL',
      });
    },
  },
  activate: {
    flags: {
      zone: 'string',
      version: 'string',
      'expected-active': 'string',
      reason: 'string',
      wait: 'boolean',
      'idempotency-key': 'string',
    },
    positionals: 0,
    async run(c) {
      const zone = required(c.args, 'zone');
      const expected = c.args.strings.get('expected-active');
      if (expected === undefined) {
        throw new UsageError(
          '--expected-active is required (the active version id, or "" when none)',
        );
      }
      const client = c.client();
      const { activation, replayed } = await client.activations.activate(zone, {
        policy_set_version_id: required(c.args, 'version'),
        expected_active_version_id: expected,
        reason: c.args.strings.get('reason') ?? 'caracal-deploy activate',
        ...idempotencyKey(c),
      });
      c.say(
        `activation ${activation.id}${replayed ? ' (replayed)' : ''}: ${zone} → ${activation.policy_set_version_id}`,
      );
      if (!c.args.booleans.has('wait')) {
        c.emit({ activation, replayed });
        return ExitCode.ok;
      }
      let state = 'dispatching';
      for await (const line of client.activations.watch(zone, activation.id)) {
        if (line.type !== 'status') continue;
        state = line.state;
        if (c.json) c.io.stdout(`${JSON.stringify(line)}\n`);
        c.say(
          `  ${line.state}: ${line.serving_replicas}/${line.live_replicas} replicas serving` +
            line.regions.map((r) => `; ${r.region} ${r.serving}/${r.live}`).join(''),
        );
      }
      return state === 'converged' ? ExitCode.ok : ExitCode.verificationFailed;
    },
  },
  deploy: {
    flags: {
      version: 'string',
      stages: 'string',
      zone: 'string',
      set: 'string',
      reason: 'string',
      wait: 'boolean',
      'idempotency-key': 'string',
    },
    positionals: 0,
    async run(c) {
      const versionId = required(c.args, 'version');
      const stages = readStages(required(c.args, 'stages'));
      const client = c.client();
      const zone = c.args.strings.get('zone');
      const set = c.args.strings.get('set');
      if (zone !== undefined && set !== undefined) {
        const version = await client.policySets.getVersion(zone, set, versionId);
        if (!version.verdict?.valid) {
          c.emit({ deployed: false, version });
          c.io.stderr(
            `policy-set version ${versionId} is not valid; nothing was deployed` +
              findingLines(version.verdict?.findings ?? []) +
              '\n',
          );
          return ExitCode.validationFailed;
        }
      }
      const { deployment, replayed } = await client.deployments.create({
        policy_set_version_id: versionId,
        ...stages,
        reason: c.args.strings.get('reason') ?? 'caracal-deploy deploy',
        ...idempotencyKey(c),
      });
      c.say(`deployment ${deployment.id}${replayed ? ' (replayed)' : ''}: ${deployment.state}`);
      const preflight = preflightFailure(deployment);
      if (preflight !== undefined) {
        c.emit({ deployment });
        c.io.stderr(`${preflight.message}\n`);
        return preflight.code;
      }
      if (!c.args.booleans.has('wait')) {
        c.emit({ deployment, replayed });
        return ExitCode.ok;
      }
      const progress = new DeploymentProgress((text) => c.say(text));
      let last: GetDeploymentResponse = deployment;
      progress.update(deployment);
      for await (const line of client.deployments.watch(deployment.id)) {
        if (line.type !== 'event') continue;
        if (c.json) c.io.stdout(`${JSON.stringify(line)}\n`);
        progress.event(line.event);
        for (const moved of progress.update(line.deployment)) {
          const status = await client.activations.get(moved.zone, moved.activationId);
          progress.regions(moved.zone, status.regions);
        }
        last = line.deployment;
      }
      if (!last.terminal) last = await client.deployments.get(deployment.id);
      c.say(
        `deployment ${last.id} ended ${last.state}${last.failure_reason ? `: ${last.failure_reason}` : ''}`,
      );
      return last.state === 'succeeded'
        ? ExitCode.ok
        : (preflightFailure(last)?.code ?? ExitCode.verificationFailed);
    },
  },
  status: {
    flags: { zone: 'string', activation: 'string', deployment: 'string' },
    positionals: 0,
    async run(c) {
      const client = c.client();
      const deploymentId = c.args.strings.get('deployment');
      if (deploymentId !== undefined) {
        const deployment = await client.deployments.get(deploymentId);
        c.emit(deployment);
        new DeploymentProgress((text) => c.say(text)).update(deployment);
        return ExitCode.ok;
      }
      const zone = required(c.args, 'zone');
      const activationId = c.args.strings.get('activation');
      if (activationId !== undefined) {
        const status = await client.activations.get(zone, activationId);
        c.emit(status);
        c.say(
          `activation ${activationId}: ${status.state}, ${status.serving_replicas}/${status.live_replicas} replicas serving` +
            status.regions.map((r) => `\n  ${r.region}: ${r.serving}/${r.live}`).join(''),
        );
        return ExitCode.ok;
      }
      const binding = await client.activations.binding(zone);
      c.emit(binding);
      c.say(
        `zone ${zone}\n  active          ${describeBinding(binding.active)}\n  last known good ${describeBinding(binding.last_known_good)}`,
      );
      return ExitCode.ok;
    },
  },
  rollback: {
    flags: {
      zone: 'string',
      reason: 'string',
      'expected-active': 'string',
      wait: 'boolean',
      'idempotency-key': 'string',
    },
    positionals: 0,
    async run(c) {
      const zone = required(c.args, 'zone');
      const expected = c.args.strings.get('expected-active');
      const answer = await c.client().rollbacks.rollback(zone, {
        reason: c.args.strings.get('reason') ?? 'caracal-deploy rollback',
        ...idempotencyKey(c),
        ...(expected === undefined ? {} : { expected_active_version_id: expected }),
        ...(c.args.booleans.has('wait') ? { wait: true } : {}),
      });
      c.emit(answer.value);
      const r = answer.value.rollback;
      c.say(
        `${answer.created ? 'rolled back' : 'nothing changed in'} ${zone}: ${r.outcome}, ` +
          `${r.from_policy_set_version_id ?? '-'} → ${r.to_policy_set_version_id ?? '-'}` +
          (r.activation_id ? ` (activation ${r.activation_id})` : ''),
      );
      return ExitCode.ok;
    },
  },
  history: {
    flags: { zone: 'string', kind: 'string', limit: 'string' },
    positionals: 0,
    async run(c) {
      const client = c.client();
      const zone = c.args.strings.get('zone');
      const kind = c.args.strings.get('kind') ?? (zone === undefined ? 'registry' : 'activations');
      const limitText = c.args.strings.get('limit') ?? '20';
      if (!/^\d+$/.test(limitText))
        throw new UsageError(`--limit: expected a number, saw "${limitText}"`);
      const limit = Number(limitText);
      if (kind === 'activations') {
        const page = await client.activations.list(zone ?? required(c.args, 'zone'), { limit });
        c.emit(page);
        for (const { activation: a, state } of page.items) {
          c.say(
            `${a.created_at}  ${a.trigger.padEnd(16)} ${a.policy_set_version_id}  ${state.padEnd(10)} ${a.actor}: ${a.reason}`,
          );
        }
      } else if (kind === 'rollbacks') {
        const page = await client.rollbacks.list({ limit, ...(zone ? { zone } : {}) });
        c.emit(page);
        for (const r of page.items) {
          c.say(
            `${r.created_at}  ${r.zone}  ${r.outcome.padEnd(18)} ${r.from_policy_set_version_id ?? '-'} → ${r.to_policy_set_version_id ?? '-'}  ${r.trigger} ${r.actor}: ${r.reason}`,
          );
        }
      } else if (kind === 'registry') {
        const page = await client.history.list({ limit, ...(zone ? { zone } : {}) });
        c.emit(page);
        for (const h of page.items) {
          c.say(
            `${h.at}  ${h.actor}  ${h.action} ${h.entity_kind} ${h.entity_id}${h.zone ? ` (${h.zone})` : ''}`,
          );
        }
      } else {
        throw new UsageError(`--kind: expected activations, rollbacks or registry, saw "${kind}"`);
      }
      return ExitCode.ok;
    },
  },
};

/**
 * `--idempotency-key`: a CI job that re-runs the same step (e.g. with its run id)
 * gets the first activation/deployment back instead of a second one.
 */
function idempotencyKey(c: Context): { idempotency_key?: string } {
  const key = c.args.strings.get('idempotency-key');
  return key === undefined ? {} : { idempotency_key: key };
}

function noPositionals(c: Context, name: string): void {
  if (c.args.positionals.length > 0) {
    throw new UsageError(
      `${name} takes a path only with --local (saw ${c.args.positionals.join(' ')})`,
    );
  }
}

function localSource(c: Context) {
  const path = c.args.positionals[0];
  if (path === undefined) throw new UsageError('--local needs a policy directory or pack to check');
  const zone = c.args.strings.get('zone') ?? 'local';
  return protoSource(readPolicySource(path), zone, readCatalog(c.args.strings.get('catalog')));
}

interface ProtoFindingLike {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly location?: { readonly file: string; readonly line: number; readonly column: number };
}

const plainFindings = (findings: readonly ProtoFindingLike[]): FindingLike[] =>
  findings.map((f) => ({
    severity: (Severity[f.severity] ?? 'unspecified').toLowerCase(),
    code: f.code,
    message: f.message,
    ...(f.location ? { location: f.location } : {}),
  }));

/** `validate --local`: the project's own validator on a directory or pack, no server needed. */
async function validateLocally(c: Context): Promise<ExitCodeValue> {
  const source = localSource(c);
  const answer = await withLocalValidator(c.io.env, (v) => v.validation.validate({ source }));
  const findings = plainFindings(answer.findings);
  c.emit({
    valid: answer.valid,
    opa_version: answer.opaVersion,
    findings,
    tests: answer.tests.map((t) => ({
      name: t.name,
      kind: t.kind,
      passed: t.passed,
      message: t.message,
    })),
  });
  c.say(
    `${c.args.positionals[0]}: ${answer.valid ? 'valid' : 'INVALID'} (local, OPA ${answer.opaVersion})` +
      findingLines(findings) +
      answer.tests
        .map((t) => `\n  test ${t.passed ? 'pass' : 'FAIL'} ${t.name} ${t.message}`)
        .join(''),
  );
  return answer.valid ? ExitCode.ok : ExitCode.validationFailed;
}

/** `simulate --local`: validate, build and sign a throwaway bundle, and evaluate the cases on it. */
async function simulateLocally(c: Context): Promise<ExitCodeValue> {
  const source = localSource(c);
  const cases = protoCases(readCases(required(c.args, 'cases')));
  if (c.args.booleans.has('against-live')) {
    throw new UsageError('--against-live needs the server: the live version is not local');
  }
  return withLocalValidator(c.io.env, async (v) => {
    const revision = localRevision(source);
    const built = await v.validation.buildBundle({ source, revision });
    if (!built.validation?.valid) {
      const findings = plainFindings(built.validation?.findings ?? []);
      c.emit({ valid: false, findings });
      c.io.stderr(`validation failed (local)${findingLines(findings)}\n`);
      return ExitCode.validationFailed;
    }
    const result = await v.simulation.simulate({
      zoneId: source.zoneId,
      candidate: { bundle: built.bundle, bundleSha256: built.bundleSha256, revision },
      cases,
      catalog: source.catalog,
    });
    const decisionName = (d: Decision | undefined) =>
      d === undefined ? 'invalid' : (Decision[d] ?? '?').toLowerCase();
    const rows = result.results.map((r) => ({
      name: r.name,
      expected_decision: decisionName(r.expectedDecision),
      actual: r.candidate ? decisionName(r.candidate.decision) : 'invalid',
      passed: r.passed,
      invalid: r.invalid ? r.invalid.message : null,
      input_warnings: r.inputWarnings.map((w) => w.message),
    }));
    c.emit({
      bundle_sha256: built.bundleSha256,
      summary: { passed: result.passed, failed: result.failed, invalid: result.invalid },
      results: rows,
    });
    for (const row of rows) {
      c.say(
        `${row.passed ? 'pass' : 'FAIL'}  ${row.name}: expected ${row.expected_decision}, got ${row.actual}${row.invalid ? ` (${row.invalid})` : ''}`,
      );
    }
    c.say(
      `${result.passed} passed, ${result.failed} failed, ${result.invalid} invalid (local bundle ${built.bundleSha256.slice(0, 12)})`,
    );
    return result.failed > 0 || result.invalid > 0 ? ExitCode.gateFailed : ExitCode.ok;
  });
}

function ignore<E extends Error>(type: abstract new (...args: never[]) => E) {
  return (error: unknown): undefined => {
    if (error instanceof type) return undefined;
    throw error;
  };
}

interface FindingLike {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly location?: { readonly file: string; readonly line: number; readonly column: number };
}

function findingLines(findings: readonly FindingLike[]): string {
  return findings
    .map((f) => {
      const where = f.location?.file
        ? ` ${f.location.file}:${f.location.line}:${f.location.column}`
        : '';
      return `\n  ${f.severity} ${f.code}${where}: ${f.message}`;
    })
    .join('');
}

function warnings(findings: readonly FindingLike[]): string {
  return findingLines(findings.filter((f) => f.severity !== 'error'));
}

function describeBinding(
  binding: { readonly policy_set_version_id: string; readonly manifest_sha256: string } | null,
): string {
  if (binding === null) return 'none';
  return `${binding.policy_set_version_id} (revision ${binding.manifest_sha256.slice(0, 12)})`;
}

/** A failed pre-flight: exit 3 when the version is not validated, else 5. */
function preflightFailure(
  deployment: GetDeploymentResponse,
): { code: ExitCodeValue; message: string } | undefined {
  const failed = deployment.preflight.filter((check) => !check.passed);
  if (deployment.state !== 'failed' || failed.length === 0) return undefined;
  const lines = failed.map(
    (check) => `  ${check.check}${check.zone ? ` (${check.zone})` : ''}: ${check.evidence}`,
  );
  const invalid = failed.some((check) => check.check === 'version_validated');
  return {
    code: invalid ? ExitCode.validationFailed : ExitCode.verificationFailed,
    message: `deployment ${deployment.id} failed its pre-flight checks:\n${lines.join('\n')}`,
  };
}

/** The exit code and message of an error thrown by a command. */
function failure(error: unknown): { code: ExitCodeValue; message: string } {
  if (error instanceof UsageError)
    return { code: ExitCode.usage, message: `${error.message}\n\n${usage}` };
  if (error instanceof LocalValidatorError)
    return { code: ExitCode.unreachable, message: error.message };
  if (isGrpcError(error)) {
    return {
      code: ExitCode.unreachable,
      message: `the local policy-validator failed: ${error.message} (is OPA installed? CARACAL_OPA_BIN)`,
    };
  }
  if (!(error instanceof AdminApiError)) {
    return {
      code: ExitCode.internal,
      message: `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    };
  }
  const violations = error.violations.map((v) => `\n  ${v.field}: ${v.problem}`).join('');
  if (error instanceof ValidationFailedError) {
    return {
      code: ExitCode.validationFailed,
      message:
        `validation failed: ${error.message}${findingLines(error.findings)}` +
        error.tests
          .filter((t) => !t.passed)
          .map((t) => `\n  test FAIL ${t.name} ${t.message ?? ''}`)
          .join(''),
    };
  }
  if (error instanceof UnauthorizedError) {
    return {
      code: ExitCode.authFailed,
      message: `the Admin API refused the token (401): ${error.message}; check --token or CARACAL_ADMIN_TOKEN`,
    };
  }
  if (error instanceof ForbiddenError) {
    return {
      code: ExitCode.authFailed,
      message: `the token's role may not do this (403): ${error.message}`,
    };
  }
  if (error instanceof UnavailableError) {
    const dependency = error.dependency ? ` (${error.dependency} unavailable)` : '';
    return {
      code: ExitCode.unreachable,
      message:
        error.status === 0
          ? `${error.message}; check --url or CARACAL_ADMIN_URL`
          : `the Admin API is unavailable${dependency}: ${error.message}`,
    };
  }
  if (
    error instanceof InvalidRequestError ||
    error instanceof NotFoundError ||
    error instanceof ConflictError
  ) {
    return {
      code: ExitCode.refused,
      message: `${error.name} (${error.status}): ${error.message}${violations}`,
    };
  }
  return {
    code: ExitCode.internal,
    message: `${error.name} (${error.status}): ${error.message}${violations}`,
  };
}

/** The machine form of a failure under `--json`: the exit code plus what the API said. */
function errorJson(error: unknown, exitCode: ExitCodeValue): Record<string, unknown> {
  const base = {
    exit_code: exitCode,
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
  };
  if (!(error instanceof AdminApiError)) return base;
  return {
    ...base,
    status: error.status,
    code: error.code,
    violations: error.violations,
    details: error.details,
    ...(error instanceof ValidationFailedError
      ? { findings: error.findings, tests: error.tests }
      : {}),
  };
}

function isGrpcError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'number' &&
    'metadata' in error
  );
}

/** Runs one `caracal-deploy` invocation and answers its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  const name = [3, 2, 1]
    .map((n) => words.slice(0, n).join(' '))
    .find((candidate) => candidate in commands);
  const url = io.env['CARACAL_ADMIN_URL'] ?? defaultAdminUrl;
  if (name === undefined) {
    if (argv.length === 0 || argv.includes('--help')) {
      io.stdout(`${usage}\n`);
      return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
    }
    io.stderr(`unknown command "${words.join(' ') || argv[0]}"\n\n${usage}\n`);
    return ExitCode.usage;
  }
  const command = commands[name] as Command;
  let effectiveUrl = url;
  let json = false;
  try {
    const args = parseArgs(argv.slice(name.split(' ').length), {
      ...globalFlags,
      ...command.flags,
    });
    if (args.booleans.has('help')) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const [min, max] =
      typeof command.positionals === 'number'
        ? [command.positionals, command.positionals]
        : command.positionals;
    if (args.positionals.length < min || args.positionals.length > max) {
      throw new UsageError(
        `${name} takes ${min === max ? min : `${min} to ${max}`} argument(s), saw ${args.positionals.length}${args.positionals.length ? `: ${args.positionals.join(' ')}` : ''}`,
      );
    }
    effectiveUrl = args.strings.get('url') ?? url;
    json = args.booleans.has('json');
    const context: Context = {
      args,
      json,
      io,
      client() {
        const token = args.strings.get('token') ?? io.env['CARACAL_ADMIN_TOKEN'];
        if (!token) throw new MissingTokenError();
        return new AdminClient({ baseUrl: effectiveUrl, token });
      },
      say: (text) => {
        if (!json) io.stdout(`${text}\n`);
      },
      emit: (value) => {
        if (json) io.stdout(`${JSON.stringify(value, null, 2)}\n`);
      },
    };
    return await command.run(context);
  } catch (error) {
    if (error instanceof MissingTokenError) {
      io.stderr(`${error.message}\n`);
      return ExitCode.authFailed;
    }
    const { code, message } = failure(error);
    io.stderr(`caracal-deploy ${name}: ${message}\n`);
    if (json) io.stdout(`${JSON.stringify({ error: errorJson(error, code) }, null, 2)}\n`);
    return code;
  }
}

/** No token in `--token` or `CARACAL_ADMIN_TOKEN`. */
class MissingTokenError extends Error {
  override readonly name = 'MissingTokenError';
  constructor() {
    super(
      'no API token: set CARACAL_ADMIN_TOKEN (or pass --token); create one with `node apps/admin-api/dist/cli.js create-token`',
    );
  }
}
