import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@caracal-deploy/metrics';
import { Counter, type Registry } from 'prom-client';

import type { StoredTrigger } from '../database/rollback.schema.js';
import { triggerLabel } from './rollback-record.js';

/** `caracal_rollbacks_total{trigger}`: rollbacks that activated a last known good version. */
@Injectable()
export class RollbackMetrics {
  private readonly rollbacks: Counter<'trigger'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.rollbacks = new Counter({
      name: 'caracal_rollbacks_total',
      help: 'Zones rolled back to their last known good version, by trigger (manual, alert, verdict).',
      labelNames: ['trigger'],
      registers: [registry],
    });
    // Every series exists from the start, so rate() and absence alerts see a 0 before the first rollback.
    for (const trigger of ['manual', 'alert', 'verdict']) this.rollbacks.inc({ trigger }, 0);
  }

  /** Counts one effective rollback. */
  rolledBack(trigger: StoredTrigger): void {
    this.rollbacks.inc({ trigger: triggerLabel(trigger) });
  }
}
