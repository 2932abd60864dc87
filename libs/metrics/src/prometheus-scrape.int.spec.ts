import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge } from 'prom-client';
import {
  assertReachable,
  infraSettings,
  registerScrapeTarget,
  uniqueName,
  waitFor,
  type ScrapeTarget,
} from '@caracal-deploy/testing';

import { type MetricsServer, createMetricsRegistry, startMetricsServer } from './index.js';

interface PromResponse {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Runs an instant query against the real Prometheus. */
async function query(
  prometheusUrl: string,
  promql: string,
): Promise<PromResponse['data']['result']> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  assert.equal(response.status, 200, `Prometheus answered ${response.status} to ${promql}`);
  const body = (await response.json()) as PromResponse;
  assert.equal(body.status, 'success');
  return body.data.result;
}

describe('prom-client /metrics scraped by the real Prometheus', () => {
  const settings = infraSettings();
  const run = uniqueName('scrape');
  const registry = createMetricsRegistry('metrics-int-test');
  const age = new Gauge({
    name: 'caracal_sts_policy_age_seconds',
    help: 'seconds since this replica last confirmed it holds the zone active revision',
    labelNames: ['zone'],
    registers: [registry],
  });
  let server: MetricsServer;
  let target: ScrapeTarget | undefined;

  before(async () => {
    await assertReachable('prometheus', settings);
    server = await startMetricsServer(registry, { port: 0 });
    // file_sd: Prometheus picks the new target up from the directory it watches.
    target = await registerScrapeTarget(settings, run, [`127.0.0.1:${server.port}`], { run });
  });

  after(async () => {
    await target?.remove();
    await server.close();
  });

  /** What Prometheus says about this run's target (discovered? healthy? last error?). */
  async function targetState(): Promise<string> {
    const response = await fetch(`${settings.prometheusUrl}/api/v1/targets?state=any`);
    const body = (await response.json()) as {
      data: {
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      };
    };
    const found = body.data.activeTargets.find((target) => target.labels['run'] === run);
    return found
      ? `target ${found.labels['instance']}: health ${found.health}, last error "${found.lastError}"`
      : `target not discovered (${body.data.activeTargets.length} active targets)`;
  }

  it('stores the value the service exposes, with its labels', async () => {
    age.set({ zone: run }, 4.5);
    const sample = await waitFor(
      async () => {
        const result = await query(
          settings.prometheusUrl,
          `caracal_sts_policy_age_seconds{run="${run}"}`,
        );
        return result.find((series) => series.value[1] === '4.5');
      },
      { timeoutMs: 60_000, intervalMs: 250, description: `Prometheus to scrape target ${run}` },
    ).catch(async (error: unknown) => {
      // Say why: never discovered, or discovered but failing to scrape.
      throw new Error(`${(error as Error).message}; Prometheus: ${await targetState()}`, {
        cause: error,
      });
    });
    assert.equal(sample.metric['zone'], run);
    assert.equal(sample.metric['service'], 'metrics-int-test');
    assert.equal(sample.metric['instance'], `127.0.0.1:${server.port}`);

    // A later change shows up too: Prometheus keeps scraping, not a one-off read.
    age.set({ zone: run }, 0.25);
    await waitFor(
      async () => {
        const result = await query(
          settings.prometheusUrl,
          `caracal_sts_policy_age_seconds{run="${run}"}`,
        );
        return result.some((series) => series.value[1] === '0.25') ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the updated value to be scraped' },
    );
  });

  it('loaded the project alert rules', async () => {
    const response = await fetch(`${settings.prometheusUrl}/api/v1/rules`);
    const body = (await response.json()) as { data: { groups: { rules: { name: string }[] }[] } };
    const names = body.data.groups.flatMap((group) => group.rules.map((rule) => rule.name));
    for (const expected of ['CaracalStalePolicy', 'CaracalCanaryDecisionMismatch']) {
      assert.ok(names.includes(expected), `expected ${expected} among ${names.join(', ')}`);
    }
  });
});
