import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '@caracal-deploy/errors';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { STS_CORE, type StsCore } from '../sts-core.js';

/**
 * Ready when every served zone has a bundle loaded; reports each zone's revision
 * and policy age. A zone without one denies everything, so it is not ready.
 */
@Injectable()
export class PolicyHealthIndicator implements HealthIndicator {
  readonly name = 'policy';

  constructor(@Inject(STS_CORE) private readonly core: StsCore) {}

  check(): Promise<string> {
    const lines: string[] = [];
    const missing: string[] = [];
    for (const [zone, runtime] of this.core.runtimes) {
      const active = runtime.active;
      if (!active) missing.push(zone);
      else
        lines.push(
          `${zone}: ${active.revision} (age ${Math.round(runtime.policyAgeSeconds() ?? 0)} s)`,
        );
    }
    if (missing.length > 0) {
      return Promise.reject(
        new UnavailableError(
          `no bundle loaded for zone ${missing.join(', ')} (every decision there is a deny)`,
        ),
      );
    }
    return Promise.resolve(lines.join('; '));
  }
}
