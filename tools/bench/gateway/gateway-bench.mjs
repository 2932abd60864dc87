// Gateway benchmark (npm run bench:gateway): the latency the Gateway adds over
// calling the upstream directly. One run starts a real STS process (bundle
// built and signed by the real OPA, audit events to the real Kafka), the
// upstream, and the Gateway (node apps/gateway/dist/main.js), each in its own
// process; a separate load-generator process then sends the same GET with the
// same keep-alive load to the upstream directly and through the Gateway, in
// alternating rounds. Every Gateway request is a full enforcement: bearer
// token check, StsService.Decide over gRPC (policy evaluation + audit event),
// then proxying. A second Gateway in front of an STS stand-in that allows at
// once (instant-sts.mjs, its own process) is measured in the same rounds, to
// show the Gateway's own share of the overhead; the last line is the real one.
//
//   node tools/bench/gateway/gateway-bench.mjs [--concurrency N] [--rounds N] [--requests N] [--sts N]
//
// Last line: gateway_p50_overhead_ms=<n> gateway_p99_overhead_ms=<n>
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OpaCli } from '@caracal-deploy/opa';
import {
  FakeAdminApi,
  FakeCoordinator,
  buildSignedBundle,
  writeEs256Key,
} from '@caracal-deploy/stand-ins';
import { createTestTopic, infraSettings } from '@caracal-deploy/testing';
import { signEs256Jwt, tokenExchangeGrant } from '@caracal-deploy/token-exchange';

const root = new URL('../../../', import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const concurrency = arg('concurrency', 4);
const rounds = arg('rounds', 10);
const requestsPerRound = arg('requests', 2_000);
const stsReplicas = arg('sts', 1);

const settings = infraSettings();
const zone = 'zone-bench-gateway';
const stsIssuer = 'https://sts.bench.test';
const subjectIssuer = 'https://idp.bench.test';
const adminToken = 'bench-admin';
const children = [];

/** Starts `node <script>` with env; resolves with the regex captures once all patterns were logged. */
function start(name, script, env, patterns) {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output = [];
  return new Promise((resolve, reject) => {
    const found = new Array(patterns.length);
    const onData = (text) => {
      output.push(text);
      patterns.forEach((pattern, i) => (found[i] ??= pattern.exec(text)?.[1]));
      if (found.every((value) => value !== undefined)) resolve(found.map(Number));
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${name} exited (${code}) before it was ready:\n${output.join('')}`)),
    );
    setTimeout(
      () => reject(new Error(`${name} not ready after 60 s:\n${output.join('')}`)),
      60_000,
    ).unref();
  });
}

function run(script, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text) => (out += text));
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)))
        : reject(new Error(`load generator exited ${code}`)),
    );
  });
}

const dir = await mkdtemp(join(tmpdir(), 'gateway-bench-'));
const admin = new FakeAdminApi(adminToken);
const coordinator = new FakeCoordinator();
const topics = [];
try {
  const opa = new OpaCli({ bin: settings.opaBin });
  const bundleKey = await writeEs256Key(dir, 'bundle.pem');
  const subjectKeyPath = await writeEs256Key(dir, 'subject.pem');
  const stsKey = await writeEs256Key(dir, 'sts.pem');
  const bundle = await buildSignedBundle(opa, dir, 'bench', ['read', 'write'], {
    keyPath: bundleKey,
    keyId: 'bench-bundle',
  });
  admin.bundles.set(bundle.bundleSha256, bundle.bytes);
  admin.catalogs.set(zone, [
    {
      identifier: 'resource://orders',
      id: 'res-orders',
      type: 'http',
      scopes: ['read', 'write'],
      operations: [],
    },
  ]);
  coordinator.bindings.set(zone, { ...bundle, activationId: 'bench' });
  const adminUrl = await admin.listen();
  const coordinatorAddress = await coordinator.listen();
  for (let i = 0; i < 2; i += 1) topics.push(await createTestTopic(settings.kafkaBrokers));

  const sts = [];
  for (let i = 0; i < stsReplicas; i += 1) {
    sts.push(
      await start(
        `sts-${i}`,
        join(root, 'apps/sts/dist/main.js'),
        {
          CARACAL_STS_REPLICA_ID: `bench-gateway-${process.pid}-${i}`,
          CARACAL_STS_ZONES: zone,
          CARACAL_STS_ISSUER: stsIssuer,
          CARACAL_STS_HTTP_PORT: '0',
          CARACAL_STS_GRPC_ADDRESS: '127.0.0.1:0',
          CARACAL_STS_METRICS_PORT: '0',
          CARACAL_STS_KEY_AUTOGENERATE: 'false',
          CARACAL_STS_SIGNING_KEY_FILE: stsKey,
          CARACAL_STS_SIGNING_KEY_ID: 'bench-sts',
          CARACAL_STS_SUBJECT_ISSUER: subjectIssuer,
          CARACAL_STS_SUBJECT_KEY_FILE: subjectKeyPath,
          CARACAL_BUNDLE_PUBLIC_KEY_FILE: bundleKey,
          CARACAL_BUNDLE_SIGNING_KEY_ID: 'bench-bundle',
          CARACAL_ADMIN_API_URL: adminUrl,
          CARACAL_STS_ADMIN_API_TOKEN: adminToken,
          CARACAL_COORDINATOR_GRPC_ADDRESS: coordinatorAddress,
          CARACAL_REDIS_URL: settings.redisUrl,
          CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
          CARACAL_AUDIT_TOPIC: topics[0].topic,
          CARACAL_DECISION_LOG_TOPIC: topics[1].topic,
        },
        [/token endpoint on port (\d+)/, /serving [^\n]*StsService[^\n]* on port (\d+)/],
      ),
    );
  }
  const [stsHttp] = sts[0];
  const [upstreamPort] = await start('upstream', join(here, 'upstream.mjs'), {}, [
    /upstream listening on port (\d+)/,
  ]);
  const gatewayEnv = {
    CARACAL_GATEWAY_HTTP_PORT: '0',
    CARACAL_GATEWAY_GRPC_ADDRESS: '127.0.0.1:0',
    CARACAL_GATEWAY_METRICS_PORT: '0',
    CARACAL_GATEWAY_STS_ADDRESSES: sts.map(([, grpc]) => `127.0.0.1:${grpc}`).join(','),
    CARACAL_GATEWAY_STS_JWKS_URLS: sts
      .map(([http]) => `http://127.0.0.1:${http}/.well-known/jwks.json`)
      .join(','),
    CARACAL_GATEWAY_TOKEN_ISSUER: stsIssuer,
    CARACAL_GATEWAY_ROUTES: JSON.stringify([
      {
        prefix: '/orders/',
        upstream: `http://127.0.0.1:${upstreamPort}/orders/`,
        resource: { identifier: 'resource://orders', id: 'res-orders' },
        operations: { GET: 'read', POST: 'write' },
      },
    ]),
  };
  const [gatewayPort, gatewayMetricsPort] = await start(
    'gateway',
    join(root, 'apps/gateway/dist/main.js'),
    gatewayEnv,
    [/proxy on port (\d+)/, /serving \/metrics on port (\d+)/],
  );

  // The same Gateway in front of an STS stand-in that allows at once: the Gateway's own share.
  const [instantPort] = await start('instant-sts', join(here, 'instant-sts.mjs'), {}, [
    /instant STS listening on port (\d+)/,
  ]);
  const [instantGatewayPort] = await start(
    'gateway-instant',
    join(root, 'apps/gateway/dist/main.js'),
    {
      ...gatewayEnv,
      CARACAL_GATEWAY_STS_ADDRESSES: `127.0.0.1:${instantPort}`,
    },
    [/proxy on port (\d+)/],
  );

  const now = Math.floor(Date.now() / 1000);
  const subjectToken = signEs256Jwt(
    { iss: subjectIssuer, sub: 'bench-user', zone_id: zone, iat: now, exp: now + 3_600 },
    createPrivateKey(await readFile(subjectKeyPath)),
    'bench-idp',
  );
  const exchanged = await fetch(`http://127.0.0.1:${stsHttp}/oauth/2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: tokenExchangeGrant,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subjectToken,
      resource: 'resource://orders',
      scope: 'read',
    }),
  });
  const token = await exchanged.json();
  if (exchanged.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(token)}`);

  const report = await run(join(here, 'http-load.mjs'), {
    targets: {
      direct: `http://127.0.0.1:${upstreamPort}/orders/42`,
      gateway: `http://127.0.0.1:${gatewayPort}/orders/42`,
      instant: `http://127.0.0.1:${instantGatewayPort}/orders/42`,
    },
    headers: { authorization: `Bearer ${token.access_token}` },
    concurrency,
    rounds,
    requestsPerRound,
    warmupRequests: 2_000,
  });
  for (const [name, r] of Object.entries(report)) {
    console.log(
      `${name.padEnd(8)} requests=${r.count} errors=${r.errors} non2xx=${r.non2xx} rps=${r.rps} p50=${r.p50_ms.toFixed(3)}ms p90=${r.p90_ms.toFixed(3)}ms p99=${r.p99_ms.toFixed(3)}ms max=${r.max_ms.toFixed(3)}ms${r.firstError ? ` first_error=${r.firstError}` : ''}`,
    );
  }
  const metrics = await (await fetch(`http://127.0.0.1:${gatewayMetricsPort}/metrics`)).text();
  const mean = (name) => {
    const sum = Number(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)`, 'm').exec(metrics)?.[1]);
    const count = Number(new RegExp(`^${name}_count\\{[^}]*\\} (\\S+)`, 'm').exec(metrics)?.[1]);
    return ((sum / count) * 1_000).toFixed(3);
  };
  console.log(
    `gateway internals: mean StsService.Decide ${mean('caracal_gateway_decide_seconds')} ms, mean arrival-to-forward ${mean('caracal_gateway_overhead_seconds')} ms`,
  );
  const { direct, gateway, instant } = report;
  console.log(
    `gateway with an instant STS stand-in (the Gateway's own share): p50 overhead ${(instant.p50_ms - direct.p50_ms).toFixed(3)} ms, p99 overhead ${(instant.p99_ms - direct.p99_ms).toFixed(3)} ms`,
  );
  if (Object.values(report).some((r) => r.errors + r.non2xx > 0)) {
    throw new Error('some requests failed; the latencies would not compare like with like');
  }
  console.log(
    `concurrency=${concurrency} sts_replicas=${stsReplicas} rounds=${rounds} requests_per_round=${requestsPerRound} (same load generator, alternating rounds, same run)`,
  );
  console.log(
    `gateway_p50_overhead_ms=${(gateway.p50_ms - direct.p50_ms).toFixed(3)} gateway_p99_overhead_ms=${(gateway.p99_ms - direct.p99_ms).toFixed(3)}`,
  );
} finally {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await admin.close();
  await coordinator.close();
  await Promise.all(topics.map((topic) => topic.delete().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
}
