import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '@caracal-deploy/errors';
import type { HealthIndicator } from '@caracal-deploy/grpc';

import { GATEWAY_CORE, type GatewayCore } from '../gateway-core.js';

/**
 * Ready when the Gateway can verify tokens (it holds STS keys) and at least one
 * STS replica answers (failing replicas are pinged, so a recovered STS is seen
 * without traffic); otherwise every request would be 401 or 503.
 */
@Injectable()
export class StsHealthIndicator implements HealthIndicator {
  readonly name = 'sts';

  constructor(@Inject(GATEWAY_CORE) private readonly core: GatewayCore) {}

  async check(): Promise<string> {
    if (this.core.keys.size === 0) await this.core.keys.refresh();
    if (this.core.keys.size === 0) {
      throw new UnavailableError('no STS signing key is known (JWKS unreachable or empty)');
    }
    const healthy = await this.core.sts.probe();
    if (healthy === 0) throw new UnavailableError('no STS replica answers');
    return `${healthy} STS replica(s) usable, ${this.core.keys.size} key(s)`;
  }
}
