// A stand-in for the STS's gRPC Decide that allows at once (no policy, no
// audit), so the benchmark can show how much of the Gateway's added latency is
// the Gateway itself and how much the real STS decision. Prints its port.
import { randomUUID } from 'node:crypto';

import { Decision, StsService } from '@caracal-deploy/contracts';
import { GrpcServer } from '@caracal-deploy/grpc';

const server = new GrpcServer({ address: '127.0.0.1:0' }).add(StsService, {
  decide: () =>
    Promise.resolve({
      decision: Decision.ALLOW,
      decisionId: randomUUID(),
      revision: 'instant',
      evaluationStatus: 'complete',
    }),
});
const port = await server.listen();
console.log(`instant STS listening on port ${port}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
