import { Catch } from '@nestjs/common';
import { HttpErrorFilter } from '@caracal-deploy/http-server';

/**
 * The one place the receivers' HTTP errors are written, in admin-api's shape:
 * `{ error: { code, message, violations, details } }` with the status of its
 * code (413 for an oversized body). A 503 tells Alertmanager and Grafana to
 * retry, and is logged as a warning; unknown throws answer 500 "internal error"
 * and only the log sees the cause.
 */
@Catch()
export class WebhookErrorFilter extends HttpErrorFilter {
  constructor() {
    super({ logContext: 'Webhooks', warnUnavailable: true });
  }
}
