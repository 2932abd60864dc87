import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  DeploymentState,
  StageState,
  VerdictState,
  ZoneState,
  type Deployment,
} from '@caracal-deploy/contracts';
import { assertReachable, infraSettings, waitFor } from '@caracal-deploy/testing';

import {
  startTwoRegionStack,
  type TwoRegionStack,
} from './support/two-region-stack.test-support.js';

const settings = infraSettings();
const cliMain = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

/** Runs the `caracal-deploy` CLI as a pipeline would; resolves with its exit code and output. */
function caracalDeploy(
  args: readonly string[],
  admin: { readonly url: string; readonly token: string },
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, ...args],
      {
        env: { ...process.env, CARACAL_ADMIN_URL: admin.url, CARACAL_ADMIN_TOKEN: admin.token },
        timeout: 150_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Issue 7's acceptance scenario on real parts, two regions: zone A is served by
 * two STS replicas in region `eu`, zone B by two in region `us`; each region has
 * a Gateway in front of an upstream and a canary agent probing through it; the
 * verification-aggregator joins every probe to the STS audit event. A good
 * change deploys in two stages (A in eu, then B in us), passes, and becomes the
 * last known good. A bad change fails verification in stage 1 and is rolled
 * back automatically to that version; stage 2 is never touched.
 */
describe('staged deployments across two regions, verified by canaries and audit events', () => {
  let stack: TwoRegionStack;

  before(async () => {
    for (const component of ['postgres', 'redis', 'kafka', 'opa'] as const) {
      await assertReachable(component, settings);
    }
    stack = await startTwoRegionStack(settings, { canaryIntervalMs: 500 });
  });

  after(async () => {
    await stack?.stop();
  });

  const stages = (bakeSeconds: number) => [
    {
      name: 'canary-eu',
      zones: [stack.zones.eu],
      regions: ['eu'],
      bakeSeconds,
      gates: { minProbeRoundsPerRegion: 2, bakeSeconds, timeoutSeconds: 40 },
    },
    {
      name: 'prod-us',
      zones: [stack.zones.us],
      regions: ['us'],
      bakeSeconds,
      gates: { minProbeRoundsPerRegion: 2, bakeSeconds, timeoutSeconds: 40 },
    },
  ];

  /** Follows a deployment until it ends; returns its final record. */
  const ended = (deploymentId: string) =>
    waitFor(
      async () => {
        const { deployment } = await stack.deployments.getDeployment({ deploymentId });
        const open = [
          DeploymentState.PREFLIGHT,
          DeploymentState.RUNNING,
          DeploymentState.ROLLING_BACK,
        ];
        return deployment && !open.includes(deployment.state) ? deployment : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 500, description: `deployment ${deploymentId} to end` },
    );

  const rows = (deployment: Deployment, stage: number) =>
    Object.fromEntries(
      (deployment.stages[stage]?.verdict?.rows ?? []).map((row) => [row.check, row.state]),
    );

  /** Deploys `version` to both regions in two stages; asserts the deployment ended in `state`. */
  const deployToEnd = async (version: 'v2' | 'bad', change: string, state: DeploymentState) => {
    const { deployment: started } = await stack.deployments.deploy({
      policySetVersionId: stack.versions.eu[version].versionId,
      zoneVersions: [
        { zoneId: stack.zones.us, policySetVersionId: stack.versions.us[version].versionId },
      ],
      stages: stages(2),
      options: {
        idempotencyKey: `${stack.zones.eu}-${change}`,
        actor: 'system-e2e',
        reason: `${change} change`,
      },
    });
    const deployment = await ended(started!.deploymentId);
    assert.equal(
      deployment.state,
      state,
      `ended ${DeploymentState[deployment.state]}: ${deployment.failureReason}`,
    );
    return deployment;
  };

  it('deploys a good change stage by stage, verified row by row, and it becomes the known good version', async () => {
    const deployment = await deployToEnd('v2', 'good', DeploymentState.SUCCEEDED);
    assert.ok(deployment.preflight.length > 0 && deployment.preflight.every((c) => c.passed));
    for (const [index, region] of (['eu', 'us'] as const).entries()) {
      const stage = deployment.stages[index]!;
      assert.equal(stage.state, StageState.PASSED);
      assert.equal(stage.verdict?.state, VerdictState.PASS);
      // Every row of the checklist passed, with its evidence.
      assert.deepEqual(rows(deployment, index), {
        activation_accepted: VerdictState.PASS,
        replicas_converged: VerdictState.PASS,
        policy_age: VerdictState.PASS,
        canary_audit: VerdictState.PASS,
        gateway_behaviour: VerdictState.PASS,
      });
      assert.ok(stage.verdict.rows.every((row) => row.evidence.length > 0));
      assert.deepEqual(
        stage.zones.map((z) => [z.zoneId, z.state, z.policySetVersionId, z.servingReplicas]),
        [[stack.zones[region], ZoneState.PASSED, stack.versions[region].v2.versionId, 2]],
      );
    }
  });

  it('fails a bad change in stage 1, rolls it back to the known good version, and never touches stage 2', async () => {
    // Deployed the way a pipeline does it: `caracal-deploy deploy --wait` through the Admin API.
    const dir = await mkdtemp(join(tmpdir(), 'caracal-stages-'));
    const stagesFile = join(dir, 'stages.json');
    const gates = { min_probe_rounds_per_region: 2, timeout_seconds: 40 };
    await writeFile(
      stagesFile,
      JSON.stringify({
        stages: [
          { name: 'canary-eu', zones: [stack.zones.eu], regions: ['eu'], bake_seconds: 2, gates },
          { name: 'prod-us', zones: [stack.zones.us], regions: ['us'], bake_seconds: 2, gates },
        ],
        zone_versions: [
          { zone: stack.zones.us, policy_set_version_id: stack.versions.us.bad.versionId },
        ],
      }),
    );
    const run = await caracalDeploy(
      [
        'deploy',
        '--version',
        stack.versions.eu.bad.versionId,
        '--zone',
        stack.zones.eu,
        '--set',
        'main',
        '--stages',
        stagesFile,
        '--wait',
        '--reason',
        'bad change',
      ],
      stack.admin,
    ).finally(() => rm(dir, { recursive: true, force: true }));
    // Exit 5: verification failed and the change was rolled back; the live rows said so.
    assert.equal(run.code, 5, run.output);
    assert.match(run.output, /rolled_back/);
    assert.match(run.output, /stage prod-us: skipped/);
    const deploymentId = /deployment ([0-9a-f-]{36})/.exec(run.output)?.[1];
    assert.ok(deploymentId, run.output);
    const { deployment } = await stack.deployments.getDeployment({ deploymentId });
    assert.ok(deployment);
    assert.equal(deployment.state, DeploymentState.ROLLED_BACK, deployment.failureReason);
    const [first, second] = deployment.stages;
    assert.equal(first?.state, StageState.FAILED);
    assert.equal(first?.verdict?.state, VerdictState.FAIL);
    // The failing evidence: the Gateway denied what the canary expected to pass.
    const stageRows = rows(deployment, 0);
    assert.equal(stageRows['activation_accepted'], VerdictState.PASS);
    assert.equal(stageRows['replicas_converged'], VerdictState.PASS);
    assert.equal(stageRows['gateway_behaviour'], VerdictState.FAIL);
    const behaviour = first.verdict.rows.find((row) => row.check === 'gateway_behaviour')!;
    assert.match(behaviour.evidence, /deny|mismatch/i);
    assert.deepEqual(
      first.zones.map((z) => [z.zoneId, z.state, z.rolledBackToPolicySetVersionId]),
      [[stack.zones.eu, ZoneState.ROLLED_BACK, stack.versions.eu.v2.versionId]],
    );
    assert.equal(second?.state, StageState.SKIPPED);

    // Zone A serves the last known good version again; zone B never saw the bad one.
    const eu = await stack.activation.getActiveBinding({ zoneId: stack.zones.eu });
    assert.equal(eu.binding?.policySetVersionId, stack.versions.eu.v2.versionId);
    const us = await stack.activation.listActivations({ zoneId: stack.zones.us, pageSize: 20 });
    assert.ok(
      us.activations.every(
        (a) => a.activation?.policySetVersionId !== stack.versions.us.bad.versionId,
      ),
      'stage 2 was never activated',
    );
    const usBinding = await stack.activation.getActiveBinding({ zoneId: stack.zones.us });
    assert.equal(usBinding.binding?.policySetVersionId, stack.versions.us.v2.versionId);
  });
});
