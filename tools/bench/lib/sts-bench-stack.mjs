// What the STS benchmarks share: the realistic policy built into signed bundles
// by the real OPA CLI, the two service boundaries the STS reads at start-up
// (Admin API and activation coordinator, stood in for on loopback), fresh
// Kafka topics for its audit events and decision logs, and the environment of
// an STS replica wired to all of them.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createKafka } from '@caracal-deploy/kafka';
import { OpaCli } from '@caracal-deploy/opa';
import { FakeAdminApi, FakeCoordinator } from '@caracal-deploy/stand-ins';

import { benchData, benchInputs } from '../replay/decisions.mjs';

export const root = new URL('../../../', import.meta.url).pathname;
export const opaBin = process.env.CARACAL_OPA_BIN ?? join(root, '.local/bin/opa');
export const kafkaBrokers = (process.env.CARACAL_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
export const redisUrl = process.env.CARACAL_REDIS_URL ?? 'redis://127.0.0.1:16379';
/** The zone of the realistic corpus (its inputs name it as the principal's zone). */
export const benchZone = 'zone-1';
export const entrypoint = 'caracal/authz/result';
const policyPath = join(root, 'apps/policy-validator/fixtures/realistic/authz.rego');
const bundleKeyId = 'caracal-bench';
const adminToken = 'bench-admin-token';

/** `count` realistic policy inputs (the replay benchmark's corpus generator). */
export function realisticInputs(count) {
  return [...benchInputs(count)];
}

/**
 * Builds the realistic policy and its data into `dir`, twice, both signed with
 * one fresh ES256 key: `wasm` is the bundle the STS serves (`opa build -t wasm`,
 * what the validator ships), `rego` is a plain bundle of the same sources and
 * data (OPA's own topdown engine). Returns paths, bytes and the public key.
 */
export async function buildRealisticBundles(dir) {
  const opa = new OpaCli({ bin: opaBin });
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  const rego = await readFile(policyPath);
  await writeFile(join(src, 'authz.rego'), rego);
  const data = benchData();
  await writeFile(join(src, 'data.json'), JSON.stringify(data));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPath = join(dir, 'bundle-signing.pem');
  const publicKeyPath = join(dir, 'bundle-signing.pub.pem');
  await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const claimsPath = join(dir, 'claims.json');
  await writeFile(claimsPath, JSON.stringify({ keyid: bundleKeyId }));
  const revision = createHash('sha256').update(rego).update(JSON.stringify(data)).digest('hex');
  const signing = { keyPath, algorithm: 'ES256', claimsPath };
  const wasmBytes = await opa.buildWasm('.', [entrypoint], {
    bundle: true,
    cwd: src,
    revision,
    signing,
  });
  const wasmPath = join(dir, 'realistic-wasm.tar.gz');
  await writeFile(wasmPath, wasmBytes);
  const regoPath = join(dir, 'realistic-rego.tar.gz');
  execFileSync(
    opaBin,
    [
      'build',
      '--bundle',
      '.',
      '--revision',
      revision,
      '--signing-key',
      keyPath,
      '--signing-alg',
      'ES256',
      '--claims-file',
      claimsPath,
      '--output',
      regoPath,
    ],
    { cwd: src, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return {
    revision,
    wasm: {
      path: wasmPath,
      bytes: wasmBytes,
      sha256: createHash('sha256').update(wasmBytes).digest('hex'),
    },
    regoPath,
    keyId: bundleKeyId,
    keyPath,
    publicKeyPath,
  };
}

/**
 * Starts the Admin API and coordinator stand-ins serving `bundles.wasm` as the
 * active binding of {@link benchZone}, and creates two fresh topics. `env(...)`
 * then gives an STS replica's configuration; `close()` stops and deletes it all.
 */
export async function startStsBoundaries(dir, bundles, { partitions = 1 } = {}) {
  const admin = new FakeAdminApi(adminToken);
  admin.bundles.set(bundles.wasm.sha256, new Uint8Array(bundles.wasm.bytes));
  admin.catalogs.set(benchZone, []);
  const coordinator = new FakeCoordinator();
  coordinator.bindings.set(benchZone, {
    revision: bundles.revision,
    bundleSha256: bundles.wasm.sha256,
    activationId: 'bench-activation',
  });
  const adminUrl = await admin.listen();
  const coordinatorAddress = await coordinator.listen();
  const suffix = `${process.pid}-${Date.now()}`;
  const topics = {
    audit: `caracal.bench.audit-events.${suffix}`,
    log: `caracal.bench.decision-logs.${suffix}`,
  };
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: 'sts-bench-setup' });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.createTopics({
    waitForLeaders: true,
    topics: [topics.audit, topics.log].map((topic) => ({ topic, numPartitions: partitions })),
  });
  return {
    kafka,
    topics,
    /** The environment of one STS replica serving the bench zone. */
    env: (replicaId, overrides = {}) => ({
      CARACAL_STS_REPLICA_ID: replicaId,
      CARACAL_STS_REGION: 'bench',
      CARACAL_STS_ZONES: benchZone,
      CARACAL_STS_HTTP_PORT: '0',
      CARACAL_STS_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_STS_METRICS_PORT: '0',
      CARACAL_STS_SIGNING_KEY_FILE: join(dir, `${replicaId}-signing.pem`),
      CARACAL_STS_SUBJECT_KEY_FILE: join(dir, 'subject.pem'),
      CARACAL_STS_KEY_AUTOGENERATE: 'true',
      CARACAL_BUNDLE_PUBLIC_KEY_FILE: bundles.publicKeyPath,
      CARACAL_BUNDLE_SIGNING_KEY_ID: bundles.keyId,
      CARACAL_ADMIN_API_URL: adminUrl,
      CARACAL_STS_ADMIN_API_TOKEN: adminToken,
      CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
      CARACAL_REDIS_URL: redisUrl,
      CARACAL_KAFKA_BROKERS: kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: topics.audit,
      CARACAL_DECISION_LOG_TOPIC: topics.log,
      CARACAL_STS_SHUTDOWN_FLUSH_MS: '120000',
      ...overrides,
    }),
    close: async () => {
      await kafkaAdmin.deleteTopics({ topics: [topics.audit, topics.log] }).catch(() => undefined);
      await kafkaAdmin.disconnect();
      await admin.close();
      await coordinator.close();
    },
  };
}
