import { createHash } from 'node:crypto';
import { loadWasmPolicy, readBundle, type WasmPolicy } from '@caracal-deploy/opa';
import { effectiveDecision, type Decision } from '@caracal-deploy/simulation';

/** The bundle a zone should serve, as the active binding names it. */
export interface BundleTarget {
  /** The policy-set version's manifest sha256; the bundle's `.manifest` revision must equal it. */
  readonly revision: string;
  /** Hex sha256 of the bundle bytes. */
  readonly bundleSha256: string;
}

/** Where bundles come from (the Admin API's `GET /v1/bundles/{sha256}` in production). */
export interface BundleSource {
  fetch(bundleSha256: string, signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * Checks a bundle's signature (e.g. `verifyBundleSignature` with the configured
 * public key) and returns the revision its manifest carries; throws to reject.
 */
export type BundleVerifier = (bundle: Uint8Array) => { readonly revision?: string | undefined };

/** Why a bundle was refused; the last good bundle stays active in every case. */
export type BundleRejectionReason =
  | 'fetch_failed'
  | 'sha_mismatch'
  | 'signature_invalid'
  | 'revision_mismatch'
  | 'wasm_load_failed'
  | 'missing_entrypoint';

/** A loaded bundle a zone is serving. */
export interface ActiveBundle {
  readonly revision: string;
  readonly bundleSha256: string;
  readonly loadedAt: Date;
}

/** What {@link ZonePolicyRuntime.apply} did. */
export type ApplyOutcome =
  | { readonly kind: 'loaded'; readonly active: ActiveBundle; readonly loadMs: number }
  | { readonly kind: 'unchanged'; readonly active: ActiveBundle }
  | { readonly kind: 'superseded' }
  | { readonly kind: 'rejected'; readonly reason: BundleRejectionReason; readonly message: string };

/** One decision, with what an audit event needs. */
export interface RuntimeDecision {
  /** Fail closed: `allow` only for a complete allow of a loaded bundle. */
  readonly decision: Decision;
  /** The policy's own evaluation status, or `error` when nothing could be evaluated. */
  readonly evaluationStatus: 'complete' | 'partial' | 'error';
  /** The raw `data.caracal.authz.result` value (undefined without a bundle or on error). */
  readonly result: unknown;
  /** Revision that decided; `null` when no bundle is loaded. */
  readonly revision: string | null;
  /** Why a deny was not the policy's own decision. */
  readonly reason?: 'no_active_policy_set' | 'evaluation_error' | 'malformed_result';
  /** The input as the policy read it (JSON text), when it was evaluated. */
  readonly inputJson?: string;
  /** `result` as JSON text, when the policy produced one. */
  readonly resultJson?: string;
}

/** Hooks for metrics and logs. */
export interface RuntimeEvents {
  onLoaded?(active: ActiveBundle, loadMs: number): void;
  onRejected?(target: BundleTarget, reason: BundleRejectionReason, message: string): void;
  onEvaluationError?(revision: string, error: unknown): void;
}

/** Options of {@link ZonePolicyRuntime}. */
export interface ZonePolicyRuntimeOptions {
  readonly zoneId: string;
  readonly source: BundleSource;
  readonly verify: BundleVerifier;
  /** Entrypoint evaluated for every decision (default `caracal/authz/result`). */
  readonly entrypoint?: string;
  readonly events?: RuntimeEvents;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

interface Loaded extends ActiveBundle {
  readonly policy: WasmPolicy;
}

class Rejection extends Error {
  constructor(
    readonly reason: BundleRejectionReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One zone's policy inside an STS replica: loads bundles (fetch, sha256,
 * signature, revision, wasm instantiation) and swaps them in with a single
 * reference assignment, so a decision runs entirely on the bundle it started
 * with and never sees a half-loaded one. A bad bundle is rejected and the last
 * good one keeps serving; with no bundle at all every decision is a deny.
 */
export class ZonePolicyRuntime {
  private loaded: Loaded | undefined;
  private requested = 0;
  private lastConfirmed: Date | undefined;
  private readonly entrypoint: string;
  private readonly now: () => Date;

  constructor(private readonly options: ZonePolicyRuntimeOptions) {
    this.entrypoint = options.entrypoint ?? 'caracal/authz/result';
    this.now = options.now ?? (() => new Date());
  }

  /** The bundle being served, if any. */
  get active(): ActiveBundle | undefined {
    if (!this.loaded) return undefined;
    const { revision, bundleSha256, loadedAt } = this.loaded;
    return { revision, bundleSha256, loadedAt };
  }

  /**
   * Makes `target` the served bundle. When a newer target is requested while this
   * one loads, this one is dropped (`superseded`): the latest request wins, and a
   * slow load can never roll the zone back.
   */
  async apply(target: BundleTarget, signal?: AbortSignal): Promise<ApplyOutcome> {
    const ticket = ++this.requested;
    const current = this.loaded;
    if (current?.bundleSha256 === target.bundleSha256 && current.revision === target.revision) {
      this.lastConfirmed = this.now();
      return { kind: 'unchanged', active: this.active! };
    }
    const started = performance.now();
    let policy: WasmPolicy;
    try {
      policy = await this.load(target, signal);
    } catch (error) {
      const rejection =
        error instanceof Rejection ? error : new Rejection('wasm_load_failed', describe(error));
      if (ticket !== this.requested) return { kind: 'superseded' };
      this.options.events?.onRejected?.(target, rejection.reason, rejection.message);
      return { kind: 'rejected', reason: rejection.reason, message: rejection.message };
    }
    if (ticket !== this.requested) return { kind: 'superseded' };
    const loadedAt = this.now();
    this.loaded = {
      revision: target.revision,
      bundleSha256: target.bundleSha256,
      loadedAt,
      policy,
    };
    this.lastConfirmed = loadedAt;
    const loadMs = performance.now() - started;
    const active = this.active!;
    this.options.events?.onLoaded?.(active, loadMs);
    return { kind: 'loaded', active, loadMs };
  }

  /** Whether `target` names exactly the bundle being served (revision and bytes). */
  serves(target: BundleTarget): boolean {
    const current = this.loaded;
    return (
      current !== undefined &&
      current.revision === target.revision &&
      current.bundleSha256 === target.bundleSha256
    );
  }

  /**
   * Records that the zone's active binding still names the revision being
   * served (the periodic check), as of `at` (default now); returns false when it
   * does not, so the caller knows to `apply` the binding's target.
   */
  confirm(target: BundleTarget, at: Date = this.now()): boolean {
    if (!this.serves(target)) return false;
    this.lastConfirmed = at;
    return true;
  }

  /** When this replica last confirmed it serves the zone's active revision (load or periodic check). */
  get confirmedAt(): Date | undefined {
    return this.lastConfirmed;
  }

  /**
   * Seconds since this replica last confirmed it serves the zone's active
   * revision: small whenever the replica is in sync, whether or not the policy
   * changed; undefined before any bundle was loaded.
   */
  policyAgeSeconds(): number | undefined {
    if (!this.lastConfirmed) return undefined;
    return (this.now().getTime() - this.lastConfirmed.getTime()) / 1000;
  }

  /** Evaluates `input` on the served bundle; every failure is a deny that says why. */
  decide(input: unknown): RuntimeDecision {
    const loaded = this.loaded;
    if (!loaded) {
      return {
        decision: 'deny',
        evaluationStatus: 'error',
        result: undefined,
        revision: null,
        reason: 'no_active_policy_set',
      };
    }
    let result: unknown;
    let resultJson: string | undefined;
    let inputJson: string | undefined;
    try {
      // Serialised once here: the decision log reuses the text the policy read. An input
      // that cannot be serialised fails here, closed, like one the policy cannot evaluate.
      inputJson = input ? JSON.stringify(input) : undefined;
      if (inputJson === undefined) {
        result = loaded.policy.evaluate(input, this.entrypoint);
      } else {
        ({ value: result, json: resultJson } = loaded.policy.evaluateJson(
          inputJson,
          this.entrypoint,
        ));
      }
    } catch (error) {
      this.options.events?.onEvaluationError?.(loaded.revision, error);
      return {
        decision: 'deny',
        evaluationStatus: 'error',
        result: undefined,
        revision: loaded.revision,
        reason: 'evaluation_error',
      };
    }
    const effective = effectiveDecision(result);
    const status = (result as { evaluation_status?: unknown } | undefined)?.evaluation_status;
    const evaluationStatus = status === 'complete' || status === 'partial' ? status : 'error';
    return {
      decision: effective.decision,
      evaluationStatus,
      result,
      revision: loaded.revision,
      ...(effective.erroring ? { reason: 'malformed_result' as const } : {}),
      ...(inputJson === undefined ? {} : { inputJson }),
      ...(resultJson === undefined ? {} : { resultJson }),
    };
  }

  private async load(target: BundleTarget, signal: AbortSignal | undefined): Promise<WasmPolicy> {
    let bytes: Uint8Array;
    try {
      bytes = await this.options.source.fetch(target.bundleSha256, signal);
    } catch (error) {
      throw new Rejection('fetch_failed', describe(error));
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== target.bundleSha256) {
      throw new Rejection(
        'sha_mismatch',
        `bundle bytes hash to ${sha}, expected ${target.bundleSha256}`,
      );
    }
    let revision: string | undefined;
    try {
      revision = this.options.verify(bytes).revision;
    } catch (error) {
      throw new Rejection('signature_invalid', describe(error));
    }
    if (revision !== target.revision) {
      throw new Rejection(
        'revision_mismatch',
        `bundle revision is ${JSON.stringify(revision)}, expected ${target.revision}`,
      );
    }
    let policy: WasmPolicy;
    try {
      const bundle = readBundle(bytes);
      policy = await loadWasmPolicy(bundle.wasm, bundle.data);
    } catch (error) {
      throw new Rejection('wasm_load_failed', describe(error));
    }
    if (!policy.entrypoints.includes(this.entrypoint)) {
      throw new Rejection(
        'missing_entrypoint',
        `bundle has no entrypoint ${this.entrypoint} (has ${policy.entrypoints.join(', ') || 'none'})`,
      );
    }
    return policy;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
