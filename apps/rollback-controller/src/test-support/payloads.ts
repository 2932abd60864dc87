import { createHash } from 'node:crypto';

/** One alert as Alertmanager and Grafana send it. */
export interface TestAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** A firing alert about `zone` (no zone label when undefined); `labels` are merged in. */
export function testAlert(
  zone: string | undefined,
  overrides: Partial<Omit<TestAlert, 'labels'>> & { labels?: Record<string, string> } = {},
): TestAlert {
  const { labels: extra, ...rest } = overrides;
  const labels = {
    alertname: 'CaracalStsPolicyStale',
    severity: 'critical',
    ...(zone === undefined ? {} : { zone }),
    ...extra,
  };
  return {
    status: 'firing',
    annotations: { summary: 'STS policy age over threshold' },
    startsAt: '2026-12-01T05:00:00.123456789Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://127.0.0.1:19090/graph?g0.expr=caracal_sts_policy_age_seconds',
    // Like Alertmanager's: a hash of the label set, so alerts of different zones differ.
    fingerprint: createHash('sha256')
      .update(JSON.stringify(Object.entries(labels).sort()))
      .digest('hex')
      .slice(0, 16),
    ...rest,
    labels,
  };
}

/** An Alertmanager webhook body (version "4") carrying `alerts`. */
export function alertmanagerBody(
  alerts: readonly TestAlert[],
  groupKey = '{}:{alertname="CaracalStsPolicyStale"}',
) {
  const first = alerts[0];
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'rollback-controller',
    groupLabels: { alertname: first?.labels['alertname'] ?? '' },
    commonLabels: first?.labels ?? {},
    commonAnnotations: first?.annotations ?? {},
    externalURL: 'http://127.0.0.1:19093',
    alerts,
  };
}

/** A Grafana alerting webhook body (version "1") carrying `alerts`. */
export function grafanaBody(
  alerts: readonly TestAlert[],
  groupKey = '{}/{}:{alertname="CaracalStsPolicyStale"}',
) {
  return {
    ...alertmanagerBody(alerts, groupKey),
    version: '1',
    orgId: 1,
    title: '[FIRING:1] CaracalStsPolicyStale',
    state: 'alerting',
    message: 'STS policy age over threshold',
    alerts: alerts.map((alert) => ({
      ...alert,
      silenceURL: 'http://grafana/alerting/silence/new',
      dashboardURL: '',
      panelURL: '',
      values: { B: 1, C: 1 },
    })),
  };
}
