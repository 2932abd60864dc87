// The stack's activation step: waits until every STS replica of the zone reports
// in, activates a policy-set version through the activation coordinator
// (compare-and-set on what is active now), and follows the rollout replica by
// replica until every live replica serves the new revision. Exits non-zero
// unless the activation converges.
//
//   node tools/dev/demo-activate.mjs <zone> <policy-set-version-id> <coordinator-grpc-address> [replicas=4]
import { ActivationService, ActivationState, ActivationTrigger } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import { createRedis, readReplicaStatuses } from '@caracal-deploy/redis';

const [zone, versionId, coordinatorAddress = '127.0.0.1:50071', expected = '4'] =
  process.argv.slice(2);
if (!zone || !versionId) {
  console.error(
    'usage: node tools/dev/demo-activate.mjs <zone> <policy-set-version-id> <coordinator-grpc-address> [replicas]',
  );
  process.exit(2);
}
const replicasExpected = Number(expected);
const started = performance.now();
const step = (message) =>
  console.log(`  [${String(Math.round(performance.now() - started)).padStart(5)} ms] ${message}`);

const redis = await createRedis(process.env.CARACAL_REDIS_URL ?? 'redis://127.0.0.1:16379');
const coordinator = createGrpcClient(ActivationService, coordinatorAddress, {
  defaultTimeoutMs: 10_000,
});
try {
  // Replicas heartbeat into Redis from start-up; the coordinator counts every live one.
  const deadline = Date.now() + 60_000;
  let reported = [];
  while ((reported = await readReplicaStatuses(redis, zone)).length < replicasExpected) {
    if (Date.now() > deadline)
      throw new Error(
        `only ${reported.length} of ${replicasExpected} STS replicas reported for zone ${zone}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  step(
    `${reported.length} STS replicas report for zone ${zone}: ${reported.map((r) => `${r.replicaId} (${r.region})`).join(', ')}`,
  );

  const { binding } = await coordinator.getActiveBinding({ zoneId: zone });
  const { activation, replayed } = await coordinator.activate({
    zoneId: zone,
    policySetVersionId: versionId,
    expectedActiveVersionId: binding?.policySetVersionId ?? '',
    idempotencyKey: `stack-${versionId}-${Date.now()}`,
    reason: 'local stack quick start',
    actor: 'tools/dev/stack.sh',
    trigger: ActivationTrigger.MANUAL,
  });
  step(
    `activated version ${versionId.slice(0, 8)}… in zone ${zone} (activation ${activation.activationId.slice(0, 8)}…${replayed ? ', replayed' : ''}; was ${binding ? `${binding.policySetVersionId.slice(0, 8)}…` : 'nothing'}), revision ${activation.manifestSha256.slice(0, 12)}…`,
  );

  let last = '';
  let final;
  for await (const { status } of coordinator.watchActivation({
    activationId: activation.activationId,
  })) {
    const regions = status.regions.map((r) => `${r.region} ${r.serving}/${r.live}`).join(', ');
    const line = `${ActivationState[status.state].toLowerCase()}: serving ${status.servingReplicas}/${status.liveReplicas} (${regions}), outbox ${status.outbox?.state ?? '?'}`;
    if (line !== last) step(line);
    last = line;
    final = status;
  }
  if (final?.state !== ActivationState.CONVERGED) {
    throw new Error(
      `activation ended ${final ? ActivationState[final.state] : 'without a status'}; laggards: ${final?.laggards.join(', ') || 'none'}`,
    );
  }
  for (const replica of final.replicas) {
    step(
      `  ${replica.replicaId} (${replica.region}) serves it, confirmed ${replica.lagMillis} ms after commit`,
    );
  }
  step(`converged on every live replica in ${final.propagationMillis} ms`);
} catch (error) {
  console.error(`activation failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  coordinator.close();
  redis.disconnect();
}
