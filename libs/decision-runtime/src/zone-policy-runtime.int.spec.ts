import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpaCli, readBundle } from '@caracal-deploy/opa';
import { assertReachable, infraSettings } from '@caracal-deploy/testing';

import {
  ZonePolicyRuntime,
  type BundleSource,
  type BundleTarget,
  type BundleVerifier,
} from './index.js';

const settings = infraSettings();

/** Allows the scopes listed in data; `mode` lets a bundle misbehave on purpose. */
const rego = `package caracal.authz

allowed if {
	every scope in input.context.requested_scopes { scope in data.allowed_scopes }
}

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": data.status, "determining_policies": [{"id": "p", "version": data.version}], "diagnostics": []} if allowed

# Two different values for one key: a runtime conflict when mode is "conflict".
conflict := 1 if data.mode == "conflict"
conflict := 2 if data.mode == "conflict"

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [], "diagnostics": [], "c": conflict} if {
	data.mode == "conflict"
}
`;

interface Built extends BundleTarget {
  readonly bytes: Uint8Array;
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const read = { context: { requested_scopes: ['read'] } };
const write = { context: { requested_scopes: ['write'] } };

/** Serves built bundles by sha; `delay` holds a fetch until released. */
class Store implements BundleSource {
  readonly bundles = new Map<string, Uint8Array>();
  private readonly held = new Map<string, () => void>();
  holdNext: string | undefined;

  async fetch(bundleSha256: string): Promise<Uint8Array> {
    if (this.holdNext === bundleSha256) {
      this.holdNext = undefined;
      await new Promise<void>((resolve) => this.held.set(bundleSha256, resolve));
    }
    const bytes = this.bundles.get(bundleSha256);
    if (!bytes) throw new Error(`no bundle ${bundleSha256}`);
    return bytes;
  }

  release(bundleSha256: string): void {
    this.held.get(bundleSha256)?.();
  }
}

/** Trusts the manifest (signatures are covered by libs/opa's verifier tests). */
const manifestRevision: BundleVerifier = (bytes) => ({
  revision: readBundle(bytes).manifest.revision,
});

describe('ZonePolicyRuntime with real OPA-built bundles', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  let dir: string;
  const store = new Store();
  const built: Record<string, Built> = {};

  const build = async (name: string, data: Record<string, unknown>): Promise<Built> => {
    const src = join(dir, name);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'policy.rego'), rego);
    await writeFile(join(src, 'data.json'), JSON.stringify(data));
    const revision = `rev-${name}`;
    const bytes = await opa.buildWasm(src, ['caracal/authz/result'], { revision });
    store.bundles.set(sha(bytes), bytes);
    return { revision, bundleSha256: sha(bytes), bytes };
  };

  before(async () => {
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'runtime-int-'));
    built['v1'] = await build('v1', {
      allowed_scopes: ['read'],
      status: 'complete',
      version: '1',
      mode: 'ok',
    });
    built['v2'] = await build('v2', {
      allowed_scopes: ['read', 'write'],
      status: 'complete',
      version: '2',
      mode: 'ok',
    });
    built['partial'] = await build('partial', {
      allowed_scopes: ['read'],
      status: 'partial',
      version: '3',
      mode: 'ok',
    });
    built['conflict'] = await build('conflict', {
      allowed_scopes: [],
      status: 'complete',
      version: '4',
      mode: 'conflict',
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const runtime = (events = {}) =>
    new ZonePolicyRuntime({ zoneId: 'zone-1', source: store, verify: manifestRevision, events });

  it('denies everything with no_active_policy_set before a bundle is loaded', () => {
    const decision = runtime().decide(read);
    assert.deepEqual(decision, {
      decision: 'deny',
      evaluationStatus: 'error',
      result: undefined,
      revision: null,
      reason: 'no_active_policy_set',
    });
  });

  it('loads a bundle, decides with it, and swaps to the next one', async () => {
    const zone = runtime();
    const first = await zone.apply(built['v1']!);
    assert.equal(first.kind, 'loaded');
    assert.equal(zone.decide(read).decision, 'allow');
    assert.equal(zone.decide(write).decision, 'deny');
    assert.equal(zone.decide(read).revision, 'rev-v1');

    assert.equal((await zone.apply(built['v2']!)).kind, 'loaded');
    assert.equal(zone.decide(write).decision, 'allow');
    assert.equal(zone.decide(write).revision, 'rev-v2');
    assert.equal((await zone.apply(built['v2']!)).kind, 'unchanged');
  });

  it('rejects bad bundles for precise reasons and keeps serving the last good one', async () => {
    const rejected: string[] = [];
    const zone = runtime({
      onRejected: (_t: BundleTarget, reason: string) => rejected.push(reason),
    });
    await zone.apply(built['v1']!);
    const v2 = built['v2']!;

    const outcomes = [
      await zone.apply({ revision: v2.revision, bundleSha256: 'f'.repeat(64) }),
      await zone.apply({ revision: 'rev-other', bundleSha256: v2.bundleSha256 }),
    ];
    // The store serves the v1 bytes under v2's sha: the hash check catches it.
    store.bundles.set('e'.repeat(64), built['v1']!.bytes);
    outcomes.push(await zone.apply({ revision: 'rev-v1', bundleSha256: 'e'.repeat(64) }));
    // Garbage that hashes right but is no bundle.
    const garbage = new TextEncoder().encode('not a bundle');
    store.bundles.set(sha(garbage), garbage);
    const signed = new ZonePolicyRuntime({
      zoneId: 'zone-1',
      source: store,
      verify: () => ({ revision: 'rev-garbage' }),
    });
    const garbageOutcome = await signed.apply({
      revision: 'rev-garbage',
      bundleSha256: sha(garbage),
    });

    assert.deepEqual(
      outcomes.map((o) => (o.kind === 'rejected' ? o.reason : o.kind)),
      ['fetch_failed', 'revision_mismatch', 'sha_mismatch'],
    );
    assert.equal(garbageOutcome.kind === 'rejected' && garbageOutcome.reason, 'wasm_load_failed');
    assert.deepEqual(rejected, ['fetch_failed', 'revision_mismatch', 'sha_mismatch']);
    assert.equal(zone.active?.revision, 'rev-v1', 'the last good bundle keeps serving');
    assert.equal(zone.decide(read).decision, 'allow');
  });

  it('rejects a bundle whose signature does not verify', async () => {
    const zone = new ZonePolicyRuntime({
      zoneId: 'zone-1',
      source: store,
      verify: () => {
        throw new Error('.signatures.json: signature does not verify');
      },
    });
    const outcome = await zone.apply(built['v1']!);
    assert.equal(outcome.kind, 'rejected');
    assert.equal(outcome.kind === 'rejected' && outcome.reason, 'signature_invalid');
    assert.match(outcome.kind === 'rejected' ? outcome.message : '', /does not verify/);
    assert.equal(zone.decide(read).reason, 'no_active_policy_set');
  });

  it('lets the latest request win when an older load finishes last', async () => {
    const zone = runtime();
    await zone.apply(built['v1']!);
    store.holdNext = built['v2']!.bundleSha256;
    const slow = zone.apply(built['v2']!);
    const fast = await zone.apply(built['partial']!);
    store.release(built['v2']!.bundleSha256);
    assert.equal(fast.kind, 'loaded');
    assert.equal((await slow).kind, 'superseded');
    assert.equal(
      zone.active?.revision,
      'rev-partial',
      'the slow, older request never rolls the zone back',
    );
  });

  it('fails closed on a partial allow and on an evaluation error', async () => {
    const errors: unknown[] = [];
    const zone = runtime({ onEvaluationError: (_r: string, e: unknown) => errors.push(e) });
    await zone.apply(built['partial']!);
    const partial = zone.decide(read);
    assert.equal(partial.decision, 'deny');
    assert.equal(partial.evaluationStatus, 'partial');

    await zone.apply(built['conflict']!);
    const conflict = zone.decide(read);
    assert.equal(conflict.decision, 'deny');
    assert.equal(conflict.reason, 'evaluation_error');
    assert.equal(errors.length, 1);

    // An input that cannot even be serialised is an erroring deny, never a thrown call.
    await zone.apply(built['v1']!);
    const unserialisable = zone.decide({ ...read, amount: 1n });
    assert.equal(unserialisable.decision, 'deny');
    assert.equal(unserialisable.reason, 'evaluation_error');
    assert.equal(errors.length, 2);
  });

  it('hands on the input and result texts the policy read and wrote', async () => {
    const zone = runtime();
    await zone.apply(built['v1']!);
    const decided = zone.decide(read);
    assert.equal(decided.inputJson, JSON.stringify(read));
    assert.deepEqual(JSON.parse(decided.resultJson ?? 'null'), decided.result);
  });

  it('reports policy age since the last confirmation, not since the last change', async () => {
    let now = new Date('2026-11-28T00:00:00Z');
    const zone = new ZonePolicyRuntime({
      zoneId: 'zone-1',
      source: store,
      verify: manifestRevision,
      now: () => now,
    });
    assert.equal(zone.policyAgeSeconds(), undefined);
    await zone.apply(built['v1']!);
    now = new Date('2026-11-28T00:00:30Z');
    assert.equal(zone.policyAgeSeconds(), 30);
    // The periodic check finds the binding unchanged: the age drops back although nothing changed.
    assert.equal(zone.confirm(built['v1']!), true);
    assert.equal(zone.policyAgeSeconds(), 0);
    now = new Date('2026-11-28T00:00:40Z');
    assert.equal(zone.serves(built['v1']!), true);
    assert.equal(zone.serves(built['v2']!), false);
    assert.equal(zone.confirm(built['v2']!), false, 'a different binding is not confirmed');
    assert.equal(zone.policyAgeSeconds(), 10);
    // A confirmation can be dated when it was made (e.g. when it was reported), not when recorded.
    assert.equal(zone.confirm(built['v1']!, new Date('2026-11-28T00:00:35Z')), true);
    assert.equal(zone.policyAgeSeconds(), 5);
  });
});
