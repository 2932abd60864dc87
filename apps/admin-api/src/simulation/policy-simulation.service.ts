import { Injectable } from '@nestjs/common';
import {
  type CaseResult,
  Decision,
  type Evaluation,
  GateVerdict,
  type ReplayProgress,
  type ReplayReport,
} from '@caracal-deploy/contracts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type FieldViolation,
} from '@caracal-deploy/errors';
import type { z } from 'zod';

import {
  type NamedRow,
  type PolicySetVersionRow,
  RegistryRepository,
  type ZoneRow,
} from '../database/registry.repository.js';
import type {
  StoredCase,
  StoredCaseResult,
  StoredEvaluation,
} from '../database/registry.schema.js';
import { simulationCase, type replayBody, type simulateBody } from '../http/api.schemas.js';
import { InvalidVersionError } from '../http/http-errors.js';
import { violationsOf } from '../http/request-validation.js';
import { VersionsService } from '../registry/versions.service.js';
import { catalogOf } from '../validation/policy-source.js';
import { SimulationClient } from './simulation.client.js';

/** A bundle a simulation evaluates, named the way the validator verifies it. */
export interface BundleRef {
  readonly policySetVersionId: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly revision: string;
}

/** A declared case that is not one (not an object, a field missing or wrong). */
export interface MalformedCase {
  readonly name: string;
  readonly violations: readonly FieldViolation[];
}

/** Declared cases' outcome in the order they were given. */
export interface CaseRun {
  readonly results: StoredCaseResult[];
  readonly summary: { passed: number; failed: number; flipped: number; invalid: number };
}

/** One line of a replay: progress as it goes, then the result. */
export type ReplayEvent =
  | ({ type: 'progress' } & ReturnType<typeof progressView>)
  | ({ type: 'result' } & ReturnType<typeof replayResultView>);

const decisionNames = { [Decision.ALLOW]: 'allow', [Decision.DENY]: 'deny' } as const;
const decisionValues = { allow: Decision.ALLOW, deny: Decision.DENY } as const;
const verdictNames = {
  [GateVerdict.PASS]: 'pass',
  [GateVerdict.FAIL]: 'fail',
  [GateVerdict.NO_DATA]: 'no_data',
} as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `cases[3].input` from the case index and a field path inside the case. */
function caseField(index: number, field: string): string {
  const base = `cases[${index}]`;
  if (field === '') return base;
  return field.startsWith('[') ? `${base}${field}` : `${base}.${field}`;
}

function bundleRefView(ref: BundleRef) {
  return {
    policy_set_version_id: ref.policySetVersionId,
    bundle_sha256: ref.sha256,
    revision: ref.revision,
  };
}

function evaluationView(evaluation: Evaluation | undefined): StoredEvaluation | null {
  if (evaluation === undefined) return null;
  let result: unknown = null;
  try {
    result = JSON.parse(decoder.decode(evaluation.resultJson));
  } catch {
    result = null;
  }
  const fields = (typeof result === 'object' && result !== null ? result : {}) as {
    determining_policies?: unknown;
    diagnostics?: unknown;
  };
  return {
    decision: evaluation.decision === Decision.ALLOW ? 'allow' : 'deny',
    evaluation_status: evaluation.evaluationStatus,
    determining_policies: Array.isArray(fields.determining_policies)
      ? fields.determining_policies
      : [],
    diagnostics: Array.isArray(fields.diagnostics) ? fields.diagnostics : [],
    result,
  };
}

function caseResultView(result: CaseResult): StoredCaseResult {
  const expected = decisionNames[result.expectedDecision as Decision.ALLOW | Decision.DENY];
  return {
    name: result.name,
    expected_decision: expected ?? null,
    passed: result.passed,
    flipped: result.flipped,
    candidate: evaluationView(result.candidate),
    baseline: evaluationView(result.baseline),
    input_warnings: result.inputWarnings.map((warning) => ({
      code: warning.code,
      message: warning.message,
      path: warning.details['path'] ?? '',
    })),
    invalid:
      result.invalid === undefined ? null : { field: '(case)', problem: result.invalid.message },
  };
}

function progressView(progress: ReplayProgress | undefined) {
  return {
    read: Number(progress?.read ?? 0n),
    evaluated: Number(progress?.evaluated ?? 0n),
    invalid: Number(progress?.invalid ?? 0n),
    skipped: Number(progress?.skipped ?? 0n),
  };
}

function replayResultView(zone: string, candidate: BundleRef, gate: string, report: ReplayReport) {
  const verdict = verdictNames[report.gateVerdict as keyof typeof verdictNames] ?? 'fail';
  return {
    zone,
    candidate: bundleRefView(candidate),
    result: verdict,
    gate: { clauses: gate, reasons: [...report.gateReasons] },
    totals: {
      evaluated: Number(report.evaluated),
      unchanged: Number(report.unchanged),
      allow_to_deny: Number(report.allowToDeny),
      deny_to_allow: Number(report.denyToAllow),
      newly_erroring: Number(report.newlyErroring),
    },
    top_groups: report.topGroups.map((group) => ({
      resource: group.resource,
      scopes: group.scopes,
      principal_type: group.principalType,
      change: group.change,
      count: Number(group.count),
      example_decision_ids: [...group.exampleDecisionIds],
    })),
    ungrouped_changes: Number(report.ungroupedChanges),
    progress: progressView(report.progress),
  };
}

/**
 * Simulation in front of the policy-validator: declared cases on a policy-set
 * version's stored, signed bundle (optionally against the bundle the zone serves
 * now, as the activation coordinator names it) and replay of the zone's recorded
 * decisions with a gate. Never changes what is active.
 */
@Injectable()
export class PolicySimulationService {
  constructor(
    private readonly repository: RegistryRepository,
    private readonly versions: VersionsService,
    private readonly client: SimulationClient,
  ) {}

  /**
   * The version `id` of the set, refused with 409 naming its blocking findings
   * when its latest verdict is not valid (a failed version is never simulated).
   */
  async validVersion(set: NamedRow, id: string): Promise<PolicySetVersionRow> {
    const row = await this.repository.policySetVersion(set.id, id);
    const verdict = (await this.repository.latestVerdicts('policy_set_version_id', [row.id])).get(
      row.id,
    );
    if (verdict?.valid !== true) {
      const blocking = (verdict?.findings ?? []).filter((finding) => finding.severity === 'error');
      throw new FailedPreconditionError(
        `policy-set version ${row.id} failed validation, so it cannot be simulated: ${
          blocking.map((finding) => `${finding.code}: ${finding.message}`).join('; ') ||
          'no valid verdict'
        }`,
        {
          details: { policy_set_version_id: row.id, manifest_sha256: row.manifest_sha256 },
          violations: blocking.map((finding) => ({
            field: finding.location.file || '(policy)',
            problem: `${finding.code}: ${finding.message}`,
          })),
        },
      );
    }
    return row;
  }

  /** The signed bundle of a valid version, built (and stored) first if it never was. */
  async candidateBundle(
    zone: ZoneRow,
    set: NamedRow,
    row: PolicySetVersionRow,
    actor: string,
  ): Promise<BundleRef> {
    let meta = (await this.repository.bundlesOf([row.id])).get(row.id);
    if (meta === undefined) {
      try {
        await this.versions.buildBundle(zone, set, row.id, actor);
      } catch (error) {
        if (error instanceof InvalidVersionError) {
          // Valid when stored, refused by today's checks: the same conflict as above.
          throw new FailedPreconditionError(`${error.message}: it cannot be simulated`, {
            cause: error,
            details: error.details,
          });
        }
        throw error;
      }
      meta = (await this.repository.bundlesOf([row.id])).get(row.id);
    }
    if (meta === undefined) {
      throw new FailedPreconditionError(`policy-set version ${row.id} has no bundle`);
    }
    const stored = await this.repository.bundle(meta.sha256);
    return {
      policySetVersionId: row.id,
      bytes: stored.bytes,
      sha256: stored.sha256,
      revision: stored.revision,
    };
  }

  /**
   * The bundle the zone serves now: the coordinator names it (its active
   * binding), this registry holds its bytes. No active version is a 409.
   */
  async liveBundle(zone: ZoneRow): Promise<BundleRef> {
    const binding = await this.client.activeBinding(zone.name);
    if (binding === undefined) {
      throw new FailedPreconditionError(
        `zone "${zone.name}" has no active policy-set version to compare against`,
        { details: { zone: zone.name } },
      );
    }
    let stored;
    try {
      stored = await this.repository.bundle(binding.bundleSha256);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      throw new FailedPreconditionError(
        `zone "${zone.name}" serves bundle ${binding.bundleSha256}, which this registry does not hold`,
        { cause: error, details: { zone: zone.name, bundle_sha256: binding.bundleSha256 } },
      );
    }
    if (stored.revision !== binding.manifestSha256) {
      throw new FailedPreconditionError(
        `zone "${zone.name}"'s active binding names revision ${binding.manifestSha256}, its bundle carries ${stored.revision}`,
        { details: { zone: zone.name, bundle_sha256: stored.sha256 } },
      );
    }
    return {
      policySetVersionId: binding.policySetVersionId,
      bytes: stored.bytes,
      sha256: stored.sha256,
      revision: stored.revision,
    };
  }

  /**
   * `POST …/simulations`: every case is checked on its own; malformed ones refuse
   * the batch (400 naming each field) unless the caller asked to run the rest.
   */
  async simulate(
    zone: ZoneRow,
    set: NamedRow,
    id: string,
    body: z.output<typeof simulateBody>,
    actor: string,
  ) {
    const row = await this.validVersion(set, id);
    const parsed = body.cases.map((item, index): StoredCase | MalformedCase => {
      const result = simulationCase.safeParse(item, { reportInput: true });
      if (result.success) return result.data;
      const name = (item as { name?: unknown } | null)?.name;
      return {
        name: typeof name === 'string' ? name : caseField(index, ''),
        violations: violationsOf(result.error, '').map((violation) => ({
          field: caseField(index, violation.field),
          problem: violation.problem,
        })),
      };
    });
    const malformed = parsed.filter((item) => 'violations' in item);
    const violations = malformed.flatMap((item) => item.violations);
    if (violations.length > 0 && !body.continue_on_invalid_case) {
      const [first] = violations;
      throw new InvalidArgumentError(
        `${malformed.length} of ${body.cases.length} cases are malformed: ${first?.field}: ${first?.problem}`,
        { violations },
      );
    }
    const candidate = await this.candidateBundle(zone, set, row, actor);
    const baseline = body.against_live ? await this.liveBundle(zone) : undefined;
    const run = await this.runCases(zone, candidate, baseline, parsed);
    return {
      zone: zone.name,
      candidate: bundleRefView(candidate),
      baseline: baseline === undefined ? null : bundleRefView(baseline),
      ...run,
    };
  }

  /**
   * Runs cases on the validator; a malformed case is reported invalid in its
   * place without being sent.
   */
  async runCases(
    zone: ZoneRow,
    candidate: BundleRef,
    baseline: BundleRef | undefined,
    cases: readonly (StoredCase | MalformedCase)[],
  ): Promise<CaseRun> {
    const sent = cases.flatMap((item, index) => ('violations' in item ? [] : [index]));
    const signed = (ref: BundleRef) => ({
      bundle: ref.bytes,
      bundleSha256: ref.sha256,
      revision: ref.revision,
    });
    let answered: CaseResult[] = [];
    if (sent.length > 0) {
      try {
        const response = await this.client.simulate({
          zoneId: zone.name,
          candidate: signed(candidate),
          ...(baseline === undefined ? {} : { baseline: signed(baseline) }),
          catalog: catalogOf(await this.repository.catalog(zone)),
          cases: sent.map((index) => {
            const item = cases[index] as StoredCase;
            return {
              name: item.name,
              inputJson: encoder.encode(JSON.stringify(item.input)),
              expectedDecision: decisionValues[item.expected_decision],
            };
          }),
        });
        answered = response.results;
      } catch (error) {
        // The validator names fields of what it was sent: point them at the caller's cases.
        if (error instanceof InvalidArgumentError) {
          throw new InvalidArgumentError(error.message, {
            cause: error,
            details: error.details,
            violations: error.violations.map((violation) => ({
              field: violation.field.replace(
                /^cases\[(\d+)\](\.input_json)?/,
                (_, index: string, input?: string) =>
                  caseField(sent[Number(index)] ?? Number(index), input ? 'input' : ''),
              ),
              problem: violation.problem,
            })),
          });
        }
        throw error;
      }
    }
    const byIndex = new Map(sent.map((index, position) => [index, answered[position]]));
    const results = cases.map((item, index): StoredCaseResult => {
      const result = byIndex.get(index);
      if (result !== undefined) return caseResultView(result);
      const [first] = 'violations' in item ? item.violations : [];
      return {
        name: item.name,
        expected_decision: null,
        passed: false,
        flipped: false,
        candidate: null,
        baseline: null,
        input_warnings: [],
        invalid: first
          ? { field: first.field, problem: first.problem }
          : { field: caseField(index, ''), problem: 'not evaluated' },
      };
    });
    const summary = { passed: 0, failed: 0, flipped: 0, invalid: 0 };
    for (const result of results) {
      if (result.invalid !== null) summary.invalid += 1;
      else if (result.passed) summary.passed += 1;
      else summary.failed += 1;
      if (result.flipped) summary.flipped += 1;
    }
    return { results, summary };
  }

  /**
   * `POST …/replays`: the zone's recorded decisions in the window (or the latest
   * `max_samples`) evaluated on the version's bundle; yields progress as the
   * validator streams it and ends with the impact report and the gate's result.
   */
  async *replay(
    zone: ZoneRow,
    set: NamedRow,
    id: string,
    body: z.output<typeof replayBody>,
    actor: string,
    signal: AbortSignal,
  ): AsyncGenerator<ReplayEvent> {
    const row = await this.validVersion(set, id);
    const candidate = await this.candidateBundle(zone, set, row, actor);
    const stream = this.client.replay(
      {
        zoneId: zone.name,
        candidate: {
          bundle: candidate.bytes,
          bundleSha256: candidate.sha256,
          revision: candidate.revision,
        },
        ...(body.window === undefined
          ? {}
          : {
              window: {
                fromUnixMillis: BigInt(Date.parse(body.window.from)),
                toUnixMillis:
                  body.window.to === undefined ? 0n : BigInt(Date.parse(body.window.to)),
              },
            }),
        maxSamples: body.max_samples ?? 0,
        gate: body.gate,
        workers: body.workers ?? 0,
      },
      signal,
    );
    for await (const message of stream) {
      if (message.event.case === 'progress') {
        yield { type: 'progress', ...progressView(message.event.value) };
      } else if (message.event.case === 'report') {
        yield {
          type: 'result',
          ...replayResultView(zone.name, candidate, body.gate, message.event.value),
        };
      }
    }
  }
}
