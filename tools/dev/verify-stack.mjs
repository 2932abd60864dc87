// Verifies the running stack the way an operator would: every service answers
// its gRPC health check with SERVING, and the local Prometheus scrapes its
// /metrics. Prints one line per service; exits non-zero if any check fails.
//
//   node tools/dev/verify-stack.mjs "name|entry|grpc-address|metrics-port[|environment]" ...
import { HealthService, ServingStatus } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';

const prometheusUrl = process.env.CARACAL_PROMETHEUS_URL ?? 'http://127.0.0.1:19090';
const deadlineMs = 60_000;

/** Polls `probe` until it returns a value or the deadline passes. */
async function poll(description, probe) {
  const deadline = Date.now() + deadlineMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${description}: not ready after ${deadlineMs} ms${lastError ? ` (${lastError.message})` : ''}`,
  );
}

let failed = false;
for (const spec of process.argv.slice(2)) {
  const [name, , grpcAddress, metricsPort] = spec.split('|');
  const client = createGrpcClient(HealthService, grpcAddress, { defaultTimeoutMs: 2_000 });
  try {
    const health = await poll(`${name} gRPC health`, async () => {
      const response = await client.check({ components: [] });
      if (response.status === ServingStatus.SERVING) return response;
      throw new Error(
        response.components
          .filter((c) => c.outcome.case === 'unhealthy')
          .map((c) => `${c.name}: ${c.outcome.value.reason}`)
          .join('; '),
      );
    });
    const version = await client.getVersion({});
    const scraped = await poll(`${name} scraped by Prometheus`, async () => {
      const query = encodeURIComponent(`up{instance="127.0.0.1:${metricsPort}"}`);
      const body = await (await fetch(`${prometheusUrl}/api/v1/query?query=${query}`)).json();
      return body.data?.result?.[0]?.value?.[1] === '1' ? true : undefined;
    });
    const components = health.components
      .map(
        (c) =>
          `${c.name}=${c.outcome.case === 'healthy' ? c.outcome.value.detail || 'ok' : 'down'}`,
      )
      .join(', ');
    console.log(
      `${name.padEnd(22)} SERVING  v${version.version}  grpc://${grpcAddress}  [${components}]  ` +
        `metrics http://127.0.0.1:${metricsPort}/metrics (Prometheus up=${scraped ? 1 : 0})`,
    );
  } catch (error) {
    failed = true;
    console.error(`${name.padEnd(22)} FAILED   ${error.message}`);
  } finally {
    client.close();
  }
}
process.exit(failed ? 1 : 0);
