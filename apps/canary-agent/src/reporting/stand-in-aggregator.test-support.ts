import {
  CanaryResult,
  Decision,
  VerificationService,
  type ProbeReport,
  type ReportProbesRequest,
  type ReportProbesResponseSchema,
} from '@caracal-deploy/contracts';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { UnimplementedError } from '@caracal-deploy/errors';
import { GrpcServer, type ServiceImpl } from '@caracal-deploy/grpc';

const notServed = () => Promise.reject(new UnimplementedError('not served by this stand-in'));

/**
 * Classifies a report the way the aggregator would without audit events: no
 * answer → error, another decision → decision_mismatch, another revision than
 * `revision` (when given) → revision_mismatch, else match.
 */
export function classifyByDecision(report: ProbeReport, revision?: string): CanaryResult {
  if (report.transportError !== '') return CanaryResult.ERROR;
  const expected = report.expectedDecision === Decision.ALLOW ? 'allow' : 'deny';
  if (report.observedDecision !== expected) return CanaryResult.DECISION_MISMATCH;
  if (revision !== undefined && report.observedRevision !== revision)
    return CanaryResult.REVISION_MISMATCH;
  return CanaryResult.MATCH;
}

/**
 * Stands in for the verification aggregator (a service boundary): a real
 * {@link GrpcServer} serving `VerificationService.ReportProbes`, keeping every
 * report it receives and answering each with `classify`'s result. The other
 * methods answer UNIMPLEMENTED.
 */
export class StandInAggregator implements ServiceImpl<typeof VerificationService> {
  readonly received: ProbeReport[] = [];
  readonly verifyStage = notServed;
  readonly getVerdict = notServed;
  private server: GrpcServer | undefined;

  constructor(
    private readonly classify: (report: ProbeReport) => CanaryResult = (report) =>
      classifyByDecision(report),
  ) {}

  /** Binds `127.0.0.1:port` (a port the agent already dials). */
  async listen(port: number): Promise<void> {
    this.server = new GrpcServer({ address: `127.0.0.1:${port}`, shutdownGraceMs: 100 }).add(
      VerificationService,
      this,
    );
    await this.server.listen();
  }

  /** Stops the server, ending open streams. */
  async close(): Promise<void> {
    await this.server?.close();
  }

  // eslint-disable-next-line require-yield, @typescript-eslint/require-await
  async *watchVerdict(): AsyncGenerator<never> {
    throw new UnimplementedError('not served by this stand-in');
  }

  async *reportProbes(
    requests: AsyncIterable<ReportProbesRequest>,
  ): AsyncGenerator<MessageInitShape<typeof ReportProbesResponseSchema>> {
    for await (const request of requests) {
      this.received.push(...request.reports);
      yield {
        classifications: request.reports.map((report) => ({
          requestId: report.requestId,
          probeId: report.probeId,
          region: report.region,
          result: this.classify(report),
        })),
      };
    }
  }
}
