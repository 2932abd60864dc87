import { Injectable } from '@nestjs/common';
import { ActivationTrigger } from '@caracal-deploy/contracts';
import { NotFoundError } from '@caracal-deploy/errors';

import { CoordinatorClient } from '../coordinator/coordinator.client.js';
import { rollbackView } from '../rollback/rollback-record.js';
import { RollbackRunner } from '../rollback/rollback-runner.js';
import {
  alertLabels,
  dedupeKey,
  normalizeTime,
  type AlertNotification,
  type ReceivedAlert,
} from './alert-notification.js';

/** What the receiver did with one alert of a notification. */
export interface AlertResult {
  readonly fingerprint: string;
  readonly zone: string | null;
  /** `ignored_resolved`, `ignored_no_zone` or `judged` (see `rollback.outcome`). */
  readonly action: 'ignored_resolved' | 'ignored_no_zone' | 'judged';
  readonly rollback?: ReturnType<typeof rollbackView>;
}

/** The answer to a webhook notification. */
export interface NotificationResult {
  readonly source: string;
  readonly group_key: string;
  readonly alerts: readonly AlertResult[];
}

function zoneOf(alert: ReceivedAlert): string | undefined {
  const zone = alert.labels[alertLabels.zone];
  return zone === undefined || zone === '' ? undefined : zone;
}

/** Reasons are bounded; an annotation may be long. */
function truncate(text: string, max = 500): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function optionalLabel(alert: ReceivedAlert, name: string): string | undefined {
  const value = alert.labels[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Turns firing alerts that name a zone into alert-triggered rollbacks, one per
 * alert, each keyed by its dedupe key so duplicates and retries find the first
 * answer. Resolved alerts and alerts without a zone label change nothing.
 */
@Injectable()
export class AlertReceiver {
  constructor(
    private readonly runner: RollbackRunner,
    private readonly coordinator: CoordinatorClient,
  ) {}

  /**
   * Handles one notification. Every zone named is checked with the coordinator
   * before anything happens, so an unknown zone (404) or an unreachable
   * coordinator (503) changes nothing; a retry of a notification whose first
   * alerts were already handled finds their records.
   */
  async receive(notification: AlertNotification): Promise<NotificationResult> {
    const firing = notification.alerts.filter(
      (alert) => alert.status === 'firing' && zoneOf(alert) !== undefined,
    );
    for (const zone of new Set(firing.map((alert) => zoneOf(alert)!))) {
      try {
        await this.coordinator.lastKnownGood(zone);
      } catch (error) {
        if (error instanceof NotFoundError) {
          throw new NotFoundError(`unknown zone "${zone}" in label ${alertLabels.zone}`, {
            cause: error,
            details: { zone },
          });
        }
        throw error;
      }
    }

    const results: AlertResult[] = [];
    for (const alert of notification.alerts) {
      const zone = zoneOf(alert);
      if (alert.status === 'resolved') {
        results.push({
          fingerprint: alert.fingerprint,
          zone: zone ?? null,
          action: 'ignored_resolved',
        });
        continue;
      }
      if (zone === undefined) {
        results.push({ fingerprint: alert.fingerprint, zone: null, action: 'ignored_no_zone' });
        continue;
      }
      const alertname = alert.labels['alertname'] ?? '';
      const summary = alert.annotations['summary'] ?? '';
      const result = await this.runner.rollback({
        zoneId: zone,
        reason: truncate(
          `alert ${alertname || alert.fingerprint} firing` + (summary ? `: ${summary}` : ''),
        ),
        actor: `${notification.source}:${notification.receiver || 'webhook'}`,
        expectedActiveVersionId: optionalLabel(alert, alertLabels.policySetVersionId),
        expectedActivationId: optionalLabel(alert, alertLabels.activationId),
        idempotencyKey: dedupeKey(notification.source, notification.groupKey, alert),
        waitForConvergence: false,
        trigger: ActivationTrigger.ROLLBACK_ALERT,
        triggerDetails: {
          source: notification.source,
          alertname,
          fingerprint: alert.fingerprint,
          group_key: notification.groupKey,
          starts_at: alert.startsAt,
          starts_at_normalized: normalizeTime(alert.startsAt) ?? '',
          ...Object.fromEntries(
            [alertLabels.policySetVersionId, alertLabels.activationId]
              .filter((name) => optionalLabel(alert, name) !== undefined)
              .map((name) => [name, alert.labels[name]!]),
          ),
        },
      });
      results.push({
        fingerprint: alert.fingerprint,
        zone,
        action: 'judged',
        rollback: rollbackView(result.record, result.replayed),
      });
    }
    return { source: notification.source, group_key: notification.groupKey, alerts: results };
  }
}
