import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { ROLLBACK_CONFIG, type RollbackConfig } from '../config/rollback.config.js';
import type { WebhookRequest } from '../http/http-types.js';
import { AlertReceiver, type NotificationResult } from './alert-receiver.js';
import { parseNotification } from './alert-notification.js';
import { requireBearer, requireGrafanaSignature } from './webhook-auth.js';

/** The JSON document of a request body; anything else is a 400 naming the body. */
function jsonOf(request: WebhookRequest): unknown {
  const text = (request.rawBody ?? Buffer.alloc(0)).toString('utf8');
  if (text.trim() === '') {
    throw new InvalidArgumentError('request body is empty', {
      violations: [{ field: 'body', problem: 'expected a JSON document, got nothing' }],
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`request body is not valid JSON: ${(error as Error).message}`, {
      violations: [{ field: 'body', problem: 'expected a JSON document' }],
    });
  }
}

/**
 * Alertmanager and Grafana webhook receivers. Each request is authenticated
 * first (401), then parsed (400), then handled; every error answers before
 * anything changes.
 */
@Controller()
export class WebhooksController {
  constructor(
    @Inject(ROLLBACK_CONFIG) private readonly config: RollbackConfig,
    private readonly receiver: AlertReceiver,
  ) {}

  /** Alertmanager `webhook_config` receiver (payload version "4"). */
  @Post('/v1/webhooks/alertmanager')
  @HttpCode(200)
  async alertmanager(@Req() request: WebhookRequest): Promise<NotificationResult> {
    requireBearer(request.headers, this.config.webhookToken);
    return this.receiver.receive(parseNotification('alertmanager', jsonOf(request)));
  }

  /** Grafana alerting webhook contact point (payload version "1"), HMAC-signed when configured. */
  @Post('/v1/webhooks/grafana')
  @HttpCode(200)
  async grafana(@Req() request: WebhookRequest): Promise<NotificationResult> {
    requireBearer(request.headers, this.config.webhookToken);
    const signing = this.config.grafanaSigning;
    if (signing !== undefined) {
      requireGrafanaSignature(
        request.headers,
        request.rawBody ?? Buffer.alloc(0),
        signing,
        Date.now(),
      );
    }
    return this.receiver.receive(parseNotification('grafana', jsonOf(request)));
  }
}
