import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';
import { assertReachable, infraSettings } from '@caracal-deploy/testing';
import { loadPolicy } from '@open-policy-agent/opa-wasm';

import { OpaCli, OpaPolicyError, loadWasmPolicy, readBundle } from './index.js';

const settings = infraSettings();

const policy = `package caracal.authz

import rego.v1

default decision := "deny"

decision := "allow" if {
	not input.subject.disabled
	input.action in data.caracal.roles[input.subject.role].actions
	startswith(input.resource, data.caracal.roles[input.subject.role].resource_prefix)
}

reasons := sort([reason |
	some check in ["role", "action", "resource"]
	not passes(check)
	reason := sprintf("%s not allowed", [check])
])

passes("role") if data.caracal.roles[input.subject.role]

passes("action") if input.action in data.caracal.roles[input.subject.role].actions

passes("resource") if startswith(input.resource, data.caracal.roles[input.subject.role].resource_prefix)

result := {
	"decision": decision,
	"evaluation_status": "complete",
	"reasons": reasons,
	"policy_revision": data.caracal.revision,
}
`;

const data = {
  caracal: {
    revision: 'r-2026-05-20',
    roles: {
      admin: { actions: ['read', 'write'], resource_prefix: 'zone/' },
      viewer: { actions: ['read'], resource_prefix: 'zone/public/' },
    },
  },
};

const inputs: readonly unknown[] = [
  { subject: { role: 'admin' }, action: 'write', resource: 'zone/eu/keys' },
  { subject: { role: 'viewer' }, action: 'read', resource: 'zone/public/docs' },
  { subject: { role: 'viewer' }, action: 'write', resource: 'zone/public/docs' },
  { subject: { role: 'viewer' }, action: 'read', resource: 'zone/eu/keys' },
  { subject: { role: 'admin', disabled: true }, action: 'read', resource: 'zone/eu/keys' },
  { subject: { role: 'intruder' }, action: 'read', resource: 'zone/public/docs' },
  {},
];

describe('OPA CLI and opa-wasm on the same bundle', () => {
  const cli = new OpaCli({ bin: settings.opaBin });
  let workdir: string;
  let policyDir: string;
  let bundlePath: string;
  let bundleBytes: Uint8Array;

  before(async () => {
    await assertReachable('opa', settings);
    workdir = await mkdtemp(join(tmpdir(), 'caracal-opa-int-'));
    policyDir = join(workdir, 'policy');
    await mkdir(join(policyDir, 'caracal'), { recursive: true });
    await writeFile(join(policyDir, 'authz.rego'), policy);
    await writeFile(join(policyDir, 'caracal', 'data.json'), JSON.stringify(data.caracal));
    bundleBytes = await cli.buildWasm(policyDir, ['caracal/authz/result'], {
      revision: 'sha-test',
    });
    bundlePath = join(workdir, 'bundle.tar.gz');
    await writeFile(bundlePath, bundleBytes);
  });
  after(() => rm(workdir, { recursive: true, force: true }));

  it('reports the pinned version', async () => {
    assert.match(await cli.version(), /^1\.\d+\.\d+/);
  });

  it('builds a bundle carrying the wasm module, the data and the revision', () => {
    const bundle = readBundle(bundleBytes);
    // Every wasm module starts with the magic bytes \0asm.
    assert.deepEqual([...bundle.wasm.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
    assert.deepEqual(bundle.data, data);
    assert.equal(bundle.manifest.revision, 'sha-test');
    assert.deepEqual(bundle.manifest.wasm, [
      { entrypoint: 'caracal/authz/result', module: '/policy.wasm' },
    ]);
  });

  it('evaluates every input in Node exactly as opa eval does on the same bundle', async () => {
    const bundle = readBundle(bundleBytes);
    const wasm = await loadWasmPolicy(bundle.wasm, bundle.data);
    assert.deepEqual(wasm.entrypoints, ['caracal/authz/result']);

    const decisions: string[] = [];
    for (const input of inputs) {
      const inNode = wasm.evaluate(input, 'caracal/authz/result');
      const byOpa = await cli.eval('data.caracal.authz.result', { input, bundlePath });
      assert.deepEqual(inNode, byOpa, `same result for ${JSON.stringify(input)}`);
      decisions.push((inNode as { decision: string }).decision);
    }
    // The comparison above only means something if the policy really distinguishes inputs.
    assert.deepEqual(decisions, ['allow', 'allow', 'deny', 'deny', 'deny', 'deny', 'deny']);
    assert.deepEqual(wasm.evaluate(inputs[3]), {
      decision: 'deny',
      evaluation_status: 'complete',
      reasons: ['resource not allowed'],
      policy_revision: 'r-2026-05-20',
    });
  });

  it('answers on its direct path exactly as opa-wasm itself, from objects, text and bytes', async () => {
    const bundle = readBundle(bundleBytes);
    const wasm = await loadWasmPolicy(bundle.wasm, bundle.data);
    const reference = await loadPolicy(bundle.wasm);
    reference.setData(bundle.data as object);
    const viaLibrary = (input: unknown) =>
      (reference.evaluate(input, 'caracal/authz/result') as { result: unknown }[])[0]?.result;
    const big = 'é€𝄞'.repeat(300_000); // multi-byte text, megabytes: wasm memory has to grow
    const cases: unknown[] = [
      ...inputs,
      { subject: { role: 'viewer' }, action: 'read', resource: `zone/public/${big}` },
      { subject: { role: 'ädmin' }, action: 'read', resource: 'zone/😀' },
      { subject: { role: 'admin' }, action: 'write', resource: 'zone/eu/keys' },
    ];
    for (const input of cases) {
      const expected = viaLibrary(input);
      const label = `for ${JSON.stringify(input).slice(0, 80)}`;
      assert.deepEqual(wasm.evaluate(input, 'caracal/authz/result'), expected, label);
      const text = JSON.stringify(input);
      for (const serialised of [text, new TextEncoder().encode(text)]) {
        const { value, json } = wasm.evaluateJson(serialised, 'caracal/authz/result');
        assert.deepEqual(value, expected, label);
        assert.deepEqual(JSON.parse(json ?? 'null'), expected, `its JSON text ${label}`);
      }
    }
    assert.throws(
      () => wasm.evaluateJson('{}', 'caracal/authz/nothing'),
      (error: unknown) => error instanceof InvalidArgumentError,
    );
  });

  it('agrees with OPA interpreting the Rego sources the bundle was built from', async () => {
    const bundle = readBundle(bundleBytes);
    const wasm = await loadWasmPolicy(bundle.wasm, bundle.data);
    for (const input of inputs) {
      const interpreted = await cli.eval('data.caracal.authz.result', {
        input,
        dataPaths: [policyDir],
      });
      assert.deepEqual(
        wasm.evaluate(input),
        interpreted,
        `same result for ${JSON.stringify(input)}`,
      );
    }
  });

  it('eval returns undefined for an undefined query and rejects a malformed one', async () => {
    assert.equal(
      await cli.eval('data.caracal.authz.no_such_rule', { input: {}, dataPaths: [policyDir] }),
      undefined,
    );
    await assert.rejects(
      cli.eval('data.caracal.authz[', { dataPaths: [policyDir] }),
      (error: unknown) => {
        assert.ok(error instanceof OpaPolicyError);
        assert.equal(error.diagnostics[0]?.code, 'rego_parse_error');
        return true;
      },
    );
  });

  it('check --strict reports a broken module with file, row and message', async () => {
    const file = join(workdir, 'broken', 'authz.rego');
    await mkdir(join(workdir, 'broken'), { recursive: true });
    await writeFile(
      file,
      [
        'package caracal.authz',
        '',
        'import rego.v1',
        'import data.caracal.unused',
        '',
        'result := {"decision": "allow"} if {',
        '\tx := 1',
        '}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await cli.check([policyDir], { strict: true }), []);
    assert.deepEqual(await cli.check([file]), [], 'the module is valid without --strict');

    const diagnostics = await cli.check([file], { strict: true });
    assert.deepEqual(
      diagnostics.map(({ file, row, message }) => ({ file, row, message })),
      [
        { file, row: 4, message: 'import data.caracal.unused unused' },
        { file, row: 7, message: 'assigned var x unused' },
      ],
    );
    assert.ok(diagnostics.every((diagnostic) => diagnostic.code === 'rego_compile_error'));
  });

  it('buildWasm rejects a policy that does not parse, pointing at the line', async () => {
    const dir = join(workdir, 'unparsable');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'authz.rego'), 'package caracal.authz\n\nresult := {\n');
    await assert.rejects(cli.buildWasm(dir, ['caracal/authz/result']), (error: unknown) => {
      assert.ok(error instanceof OpaPolicyError);
      assert.ok(error.diagnostics.length > 0);
      assert.equal(error.diagnostics[0]?.file, join(dir, 'authz.rego'));
      assert.equal(error.diagnostics[0]?.code, 'rego_parse_error');
      assert.ok((error.diagnostics[0]?.row ?? 0) >= 3);
      return true;
    });
  });
});
