import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { InvalidArgumentError } from '@caracal-deploy/errors';
import { assertReachable, infraSettings } from '@caracal-deploy/testing';

import { OpaCli, readBundle, verifyBundleSignature } from './index.js';
import { tarGz } from './tar-gz.test-support.js';

const run = promisify(execFile);
const settings = infraSettings();

const policy = `package caracal.authz

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [], "diagnostics": []} if {
	input.action.id in data.caracal.allowed_actions
}
`;

describe('signed wasm bundles built by opa', () => {
  const cli = new OpaCli({ bin: settings.opaBin });
  let workdir: string;
  let bundlePath: string;
  let bundleBytes: Uint8Array;
  let publicPath: string;
  let publicPem: string;

  before(async () => {
    await assertReachable('opa', settings);
    workdir = await mkdtemp(join(tmpdir(), 'caracal-opa-sign-'));
    const src = join(workdir, 'src');
    await mkdir(join(src, 'caracal'), { recursive: true });
    await writeFile(join(src, 'authz.rego'), policy);
    await writeFile(join(src, 'caracal', 'data.json'), '{"allowed_actions": ["read"]}');
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPath = join(workdir, 'key.pem');
    await writeFile(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    publicPath = join(workdir, 'public.pem');
    await writeFile(publicPath, publicPem);
    const claimsPath = join(workdir, 'claims.json');
    await writeFile(claimsPath, JSON.stringify({ keyid: 'test-key' }));
    bundleBytes = await cli.buildWasm('.', ['caracal/authz/result'], {
      bundle: true,
      cwd: src,
      revision: 'rev-42',
      signing: { keyPath, algorithm: 'ES256', claimsPath },
    });
    bundlePath = join(workdir, 'bundle.tar.gz');
    await writeFile(bundlePath, bundleBytes);
  });
  after(() => rm(workdir, { recursive: true, force: true }));

  it('verifies with the public key and returns the revision', () => {
    const verified = verifyBundleSignature(bundleBytes, publicPem, { keyId: 'test-key' });
    assert.equal(verified.manifest.revision, 'rev-42');
    assert.ok(verified.files.includes('policy.wasm'));
    assert.ok(verified.files.includes('data.json'));
  });

  for (const file of ['data.json', 'policy.wasm']) {
    it(`rejects the bundle when ${file} was tampered with, naming it`, () => {
      const files = new Map(readBundle(bundleBytes).files);
      const original = files.get(file) ?? new Uint8Array();
      files.set(
        file,
        file === 'data.json'
          ? Buffer.from('{"caracal":{"allowed_actions":["read","write"]}}')
          : new Uint8Array([...original, 0]),
      );
      assert.throws(
        () => verifyBundleSignature(tarGz(files), publicPem),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.violations[0]?.field === file,
      );
    });
  }

  it('is accepted by stock OPA with --verification-key, and a tampered copy is not', async () => {
    const verify = (path: string) =>
      run(settings.opaBin, [
        'build',
        '--bundle',
        path,
        '--verification-key',
        publicPath,
        '--verification-key-id',
        'test-key',
        '--signing-alg',
        'ES256',
        '--output',
        join(workdir, 'reverified.tar.gz'),
      ]);
    await verify(bundlePath);

    const files = new Map(readBundle(bundleBytes).files);
    files.set('data.json', Buffer.from('{"caracal":{"allowed_actions":["write"]}}'));
    const tamperedPath = join(workdir, 'tampered.tar.gz');
    await writeFile(tamperedPath, tarGz(files));
    await assert.rejects(verify(tamperedPath), (error: { stderr?: string; stdout?: string }) => {
      assert.match(`${error.stderr}${error.stdout}`, /data\.json: digest mismatch/);
      return true;
    });
  });

  it('is loaded and evaluated by `opa run` with signature verification', async () => {
    const child = execFile(settings.opaBin, [
      'run',
      '--verification-key',
      publicPath,
      '--verification-key-id',
      'test-key',
      '--signing-alg',
      'ES256',
      '--bundle',
      bundlePath,
    ]);
    let output = '';
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdin?.end('data.caracal.authz.result.decision\n');
    await exited;
    // The REPL prints the value of the query: the wasm module evaluated without input.
    assert.match(output, /"deny"/);
  });
});
