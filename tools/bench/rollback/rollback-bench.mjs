// npm run bench:rollback — how fast a bad policy change is caught and undone.
//
// Starts the whole system on the real infrastructure, two regions (per region:
// two STS replicas, a Gateway, a canary agent probing every second; plus the
// control plane), then deploys bad changes in two stages, several rounds. Each
// bad change denies the reads the canaries expect to pass, so stage 1 fails
// verification and the deployment rolls back to the last known good version.
// Per round, from the system's own records:
//   detect   = bad activation committed → failed verdict decided (aggregator)
//   rollback = failed verdict → the rollback activation served by every live replica
// Last line: detect_ms=<median> rollback_ms=<median> total_ms=<median>
//
//   npm run bench:rollback [-- --rounds 5 --canary-interval-ms 1000]
import { parseArgs } from 'node:util';

import {
  ActivationTrigger,
  DeploymentState,
  RollbackOutcome,
  StageState,
  VerdictState,
} from '@caracal-deploy/contracts';
import { infraSettings, waitFor } from '@caracal-deploy/testing';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'canary-interval-ms': { type: 'string', default: '1000' },
  },
});
const rounds = Number(values.rounds);
const canaryIntervalMs = Number(values['canary-interval-ms']);

const support = new URL('../../../apps/system-e2e/dist/support/', import.meta.url);
const { startTwoRegionStack, denyEverything } = await import(
  new URL('two-region-stack.test-support.js', support).href
);

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
};

console.log(
  `starting the two-region stack (canary interval ${canaryIntervalMs} ms); ${rounds} rounds`,
);
const stack = await startTwoRegionStack(infraSettings(), { canaryIntervalMs });
const gates = { minProbeRoundsPerRegion: 2, bakeSeconds: 2, timeoutSeconds: 60 };
const stages = [
  { name: 'canary-eu', zones: [stack.zones.eu], regions: ['eu'], bakeSeconds: 2, gates },
  { name: 'prod-us', zones: [stack.zones.us], regions: ['us'], bakeSeconds: 2, gates },
];
const results = [];
try {
  for (let round = 1; round <= rounds; round += 1) {
    // A distinct bad version per round (content-addressed versions are reused otherwise).
    const bad = {
      eu: await stack.push('eu', `${denyEverything}\n# round ${round}\n`),
      us: await stack.push('us', `${denyEverything}\n# round ${round}\n`),
    };
    const { deployment: started } = await stack.deployments.deploy({
      policySetVersionId: bad.eu.versionId,
      zoneVersions: [{ zoneId: stack.zones.us, policySetVersionId: bad.us.versionId }],
      stages,
      options: {
        idempotencyKey: `bench-${Date.now()}-${round}`,
        actor: 'bench',
        reason: 'bad change',
      },
    });
    const deployment = await waitFor(
      async () => {
        const { deployment: d } = await stack.deployments.getDeployment({
          deploymentId: started.deploymentId,
        });
        const open = [
          DeploymentState.PREFLIGHT,
          DeploymentState.RUNNING,
          DeploymentState.ROLLING_BACK,
        ];
        return d && !open.includes(d.state) ? d : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 100, description: `deployment round ${round} to end` },
    );
    if (deployment.state !== DeploymentState.ROLLED_BACK) {
      throw new Error(
        `round ${round}: deployment ended ${DeploymentState[deployment.state]}: ${deployment.failureReason}`,
      );
    }
    const stage = deployment.stages[0];
    const zone = stage.zones[0];
    const { status: badActivation } = await stack.activation.getActivation({
      activationId: zone.activationId,
    });
    const { rollbacks } = await stack.rollbacks.listRollbacks({
      zoneId: stack.zones.eu,
      pageSize: 5,
    });
    const rollback = rollbacks.find(
      (r) =>
        r.outcome === RollbackOutcome.ROLLED_BACK &&
        r.fromPolicySetVersionId === bad.eu.versionId &&
        r.trigger === ActivationTrigger.ROLLBACK_VERDICT,
    );
    if (!rollback) throw new Error(`round ${round}: no verdict rollback recorded`);
    const { status: rollbackActivation } = await stack.activation.getActivation({
      activationId: rollback.activationId,
    });
    const activatedAt = Number(badActivation.activation.createdAtUnixMillis);
    const failedAt = Number(stage.verdict.decidedAtUnixMillis);
    const servedAt =
      Number(rollbackActivation.activation.createdAtUnixMillis) +
      Number(rollbackActivation.propagationMillis);
    const result = {
      detect: failedAt - activatedAt,
      rollback: servedAt - failedAt,
      total: servedAt - activatedAt,
    };
    results.push(result);
    const failing = stage.verdict.rows
      .filter((row) => row.state === VerdictState.FAIL)
      .map((row) => `${row.check}: ${row.evidence}`)
      .join('; ');
    console.log(
      `round ${round}: detect ${result.detect} ms, rollback ${result.rollback} ms (to ${zone.rolledBackToPolicySetVersionId.slice(0, 8)}…, ${rollbackActivation.servingReplicas}/${rollbackActivation.liveReplicas} replicas), total ${result.total} ms; stage 2 ${deployment.stages[1].state === StageState.SKIPPED ? 'never touched' : 'TOUCHED'}; failing row ${failing}`,
    );
  }
} finally {
  await stack.stop();
}
console.log(
  `detect_ms=${median(results.map((r) => r.detect))} rollback_ms=${median(results.map((r) => r.rollback))} total_ms=${median(results.map((r) => r.total))}`,
);
