import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@caracal-deploy/metrics';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The coordinator's Prometheus series. */
@Injectable()
export class CoordinatorMetrics {
  /** Activation commit → last live replica confirmed; observed once per converged activation. */
  readonly propagationSeconds: Histogram;
  /** Activations committed, by trigger (replays are not counted). */
  readonly activations: Counter<'trigger'>;
  /** Invalidations published from the outbox to Redis. */
  readonly outboxPublished: Counter;
  /** Failed publish attempts that will be retried. */
  readonly outboxRetries: Counter;
  /** Activations whose rollout has not ended, by state (alert on `stalled` or `dead_lettered`). */
  readonly openActivations: Gauge<'state'>;
  /** Invalidations dead-lettered to `caracal.policy.invalidate.dead` (alert on any increase). */
  readonly outboxDeadLetters: Counter;
  /** Deployments that ended, by final state (alert on `failed`: a zone may need an operator). */
  readonly deploymentsEnded: Counter<'state'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.propagationSeconds = new Histogram({
      name: 'caracal_activation_propagation_seconds',
      help: 'Activation commit to the last live STS replica confirming the revision.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.activations = new Counter({
      name: 'caracal_activations_total',
      help: 'Activations committed, by trigger.',
      labelNames: ['trigger'],
      registers: [registry],
    });
    this.openActivations = new Gauge({
      name: 'caracal_activations_open',
      help: 'Activations not yet converged or superseded, by state (dispatching, converging, stalled, dead_lettered).',
      labelNames: ['state'],
      registers: [registry],
    });
    this.outboxPublished = new Counter({
      name: 'caracal_invalidation_outbox_published_total',
      help: 'Invalidations published from the outbox to Redis.',
      registers: [registry],
    });
    this.outboxRetries = new Counter({
      name: 'caracal_invalidation_outbox_retries_total',
      help: 'Failed invalidation publishes that will be retried with backoff.',
      registers: [registry],
    });
    this.outboxDeadLetters = new Counter({
      name: 'caracal_invalidation_outbox_dead_letters_total',
      help: 'Invalidations dead-lettered to caracal.policy.invalidate.dead after their last attempt.',
      registers: [registry],
    });
    this.deploymentsEnded = new Counter({
      name: 'caracal_deployments_ended_total',
      help: 'Staged deployments that ended, by final state (succeeded, failed, rolled_back, aborted).',
      labelNames: ['state'],
      registers: [registry],
    });
  }
}
