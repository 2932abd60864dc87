import type { KeyObject } from 'node:crypto';

import { VerificationService } from '@caracal-deploy/contracts';
import { FailedPreconditionError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { loadEs256KeyFile } from '@caracal-deploy/keys';
import type { Registry } from 'prom-client';

import type { CanaryConfig } from './config/canary.config.js';
import { CanaryMetrics, checkResultOf } from './metrics/canary-metrics.js';
import { ProbeSet } from './probes/probe-set.js';
import { loadStaticProbes } from './probes/static-probes.js';
import type { Probe } from './probes/probe.js';
import { AggregatorLink } from './reporting/aggregator-link.js';
import { ClassificationLedger } from './reporting/classification-ledger.js';
import { ReportBuffer } from './reporting/report-buffer.js';
import type { ProbeObservation } from './rounds/probe-report.js';
import { ProbeSender } from './rounds/probe-sender.js';
import { RoundScheduler } from './rounds/round-scheduler.js';
import { CanaryTokens } from './tokens/canary-tokens.js';

/** Where the agent logs. */
export interface AgentLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Injection token of the {@link CanaryAgent}. */
export const CANARY_AGENT = Symbol('CANARY_AGENT');

/** What the agent reads from files before it starts: the subject-token key and the static probes. */
export interface AgentInputs {
  readonly subjectKey: KeyObject;
  readonly staticProbes: readonly Probe[];
}

/**
 * Reads the subject-token issuer key and the static probes file; throws naming
 * the setting (and the field) when either is unusable. Called before the app
 * starts, so a bad file stops the process before it serves anything.
 */
export async function loadAgentInputs(
  config: CanaryConfig,
  warn: (message: string) => void,
): Promise<AgentInputs> {
  const key = await loadEs256KeyFile(config.subject.keyFile, {
    setting: 'CARACAL_CANARY_SUBJECT_KEY_FILE',
    autogenerate: false,
    warn,
  });
  if (!key.privateKey) {
    throw new FailedPreconditionError(
      `CARACAL_CANARY_SUBJECT_KEY_FILE: ${config.subject.keyFile} holds a public key; canary subject tokens need the private key`,
    );
  }
  const staticProbes = config.probesFile
    ? await loadStaticProbes(config.probesFile, config.zone)
    : [];
  return { subjectKey: key.privateKey, staticProbes };
}

/** What the agent's health checks read. */
export interface AgentStatus {
  /** The last finished round (0 before the first). */
  readonly lastRound: number;
  readonly lastRoundProbes: number;
  /** Probes of the last finished round the Gateway answered. */
  readonly lastRoundGatewayAnswers: number;
  /** Probes of the last finished round nothing answered. */
  readonly lastRoundUnanswered: number;
  readonly aggregatorConnected: boolean;
  /** Reports held for the aggregator. */
  readonly held: number;
}

/**
 * One region's canary: every interval it sends each probe through the
 * Gateway, buffers the observations, streams them to the verification
 * aggregator and counts the classifications it gets back.
 */
export class CanaryAgent {
  private readonly metrics: CanaryMetrics;
  private readonly buffer: ReportBuffer;
  private readonly ledger: ClassificationLedger;
  private client: GrpcClient<typeof VerificationService> | undefined;
  private link: AggregatorLink | undefined;
  private scheduler: RoundScheduler | undefined;
  private probeSet: ProbeSet | undefined;
  private unanswered: ProbeObservation[] = [];
  private roundProbes = 0;
  private roundGatewayAnswers = 0;
  private lastRound = { round: 0, probes: 0, gatewayAnswers: 0, unanswered: 0 };

  constructor(
    private readonly config: CanaryConfig,
    private readonly inputs: AgentInputs,
    registry: Registry,
    private readonly logger: AgentLogger,
  ) {
    this.metrics = new CanaryMetrics(
      registry,
      config.region,
      () => this.buffer.size + (this.link?.inFlightCount ?? 0),
    );
    this.ledger = new ClassificationLedger(config.bufferLimit * 2, (result) =>
      this.metrics.check(result),
    );
    this.buffer = new ReportBuffer(config.bufferLimit, (report) => {
      this.metrics.dropped.inc({ region: config.region });
      this.ledger.forget(report);
    });
  }

  /** Reads the expected cases (an outage is logged, not fatal), then starts probing and reporting. */
  async start(): Promise<void> {
    const { config, logger } = this;
    this.probeSet = new ProbeSet({
      staticProbes: this.inputs.staticProbes,
      routes: config.routes,
      expectedCases: config.expectedCases,
      timeoutMs: config.rounds.timeoutMs,
      logger,
      changed: ({ static: fixed, derived, unmapped }) => {
        this.metrics.probes.set({ region: config.region, source: 'static' }, fixed);
        this.metrics.probes.set({ region: config.region, source: 'expected_cases' }, derived);
        this.metrics.unmappedCases.set({ region: config.region }, unmapped);
      },
    });
    await this.probeSet.start();
    if (this.probeSet.current().length === 0) {
      logger.warn(
        'no probes: set CARACAL_CANARY_PROBES_FILE, or CARACAL_CANARY_POLICY_SET with CARACAL_CANARY_ROUTES; rounds run empty until expected cases map',
      );
    }

    const tokens = new CanaryTokens({
      tokenUrl: config.subject.tokenUrl,
      privateKey: this.inputs.subjectKey,
      keyId: config.subject.keyId,
      issuer: config.subject.issuer,
      audience: config.subject.audience,
      subjectTtlSeconds: config.subject.ttlSeconds,
    });
    const sender = new ProbeSender({
      gatewayUrl: config.gatewayUrl,
      timeoutMs: config.rounds.timeoutMs,
      tokens,
    });
    const client = createGrpcClient(VerificationService, config.aggregatorAddress);
    this.client = client;
    const link = new AggregatorLink({
      open: () => client.reportProbes(),
      buffer: this.buffer,
      agent: { agentId: config.agentId, region: config.region },
      maxInFlight: config.bufferLimit,
      reconnect: config.reconnect,
      classified: (classification) => {
        const outcome = this.ledger.classified(classification.requestId, classification.result);
        const label = checkResultOf(classification.result);
        if (outcome === 'counted' && label !== 'match') {
          logger.warn(
            `probe ${classification.probeId} (${classification.requestId}): ${label} ${classification.detail}`.trim(),
          );
        }
        if (outcome === 'unspecified') {
          logger.warn(
            `the aggregator sent no result for ${classification.probeId} (${classification.requestId})`,
          );
        }
      },
      connected: (up) => {
        this.metrics.aggregatorConnected.set({ region: config.region }, up ? 1 : 0);
        logger.log(
          up
            ? `reporting to the aggregator at ${config.aggregatorAddress}`
            : `lost the aggregator at ${config.aggregatorAddress}`,
        );
      },
      logger,
    });
    this.link = link;
    link.start();

    this.scheduler = new RoundScheduler({
      intervalMs: config.rounds.intervalMs,
      jitter: config.rounds.jitter,
      concurrency: config.rounds.concurrency,
      probes: () => this.probeSet?.current() ?? [],
      send: (probe, round) => sender.send(probe, round),
      observed: (observation) => this.observed(observation),
      roundStarted: (_round, probes) => {
        this.unanswered = [];
        this.roundProbes = probes;
        this.roundGatewayAnswers = 0;
        this.metrics.rounds.inc({ region: config.region });
      },
      roundFinished: (round) => this.roundFinished(round),
      roundFailed: (round, error) =>
        logger.error(
          `round ${round} failed: ${error instanceof Error ? error.stack : String(error)}`,
        ),
    });
    this.scheduler.start();
    logger.log(
      `probing ${config.gatewayUrl} in region ${config.region} every ${config.rounds.intervalMs} ms with ${this.probeSet.current().length} probes; reporting to ${config.aggregatorAddress}`,
    );
  }

  /** Finishes the round in progress, hands the aggregator what it can take, and closes. */
  async stop(): Promise<void> {
    await this.scheduler?.stop();
    await this.probeSet?.stop();
    await this.link?.stop();
    this.client?.close();
  }

  private observed(observation: ProbeObservation): void {
    if (observation.transportError === '') this.metrics.latency(observation.latencyMs);
    else this.unanswered.push(observation);
    if (observation.answeredBy === 'gateway') this.roundGatewayAnswers += 1;
    this.ledger.recorded(observation);
    this.buffer.push(observation);
    this.link?.notify();
  }

  /** The state the health checks judge. */
  status(): AgentStatus {
    return {
      lastRound: this.lastRound.round,
      lastRoundProbes: this.lastRound.probes,
      lastRoundGatewayAnswers: this.lastRound.gatewayAnswers,
      lastRoundUnanswered: this.lastRound.unanswered,
      aggregatorConnected: this.link?.connected ?? false,
      held: this.buffer.size + (this.link?.inFlightCount ?? 0),
    };
  }

  /** One line per round with unanswered probes, instead of one per probe. */
  private roundFinished(round: number): void {
    this.lastRound = {
      round,
      probes: this.roundProbes,
      gatewayAnswers: this.roundGatewayAnswers,
      unanswered: this.unanswered.length,
    };
    const [first] = this.unanswered;
    if (!first) return;
    this.logger.warn(
      `round ${round}: ${this.unanswered.length} probes got no answer (e.g. ${first.probeId}: ${first.transportError})`,
    );
  }
}
