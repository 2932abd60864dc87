import { createHash } from 'node:crypto';

import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';
import { z } from 'zod';

/** Where a notification came from; part of every dedupe key. */
export type AlertSource = 'alertmanager' | 'grafana';

/** Labels that tie an alert to what it is about. */
export const alertLabels = {
  /** The zone to roll back. */
  zone: 'zone',
  /** Only roll back while this policy-set version is active. */
  policySetVersionId: 'policy_set_version_id',
  /** Only roll back while this activation made the active binding. */
  activationId: 'activation_id',
} as const;

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An RFC 3339 time as `<unix seconds>.<nanoseconds>`: the same instant written
 * with another offset or fraction length (`+02:00` vs `Z`, `.5` vs `.500`)
 * gives the same text, and nanoseconds (Prometheus' precision) are kept.
 */
export function normalizeTime(text: string): string | undefined {
  const match = rfc3339.exec(text);
  if (match === null) return undefined;
  const [, seconds = '', fraction = '', offset = ''] = match;
  const millis = Date.parse(`${seconds}${offset.toUpperCase()}`);
  if (Number.isNaN(millis)) return undefined;
  return `${Math.floor(millis / 1000)}.${fraction.padEnd(9, '0')}`;
}

const labelSet = z.record(z.string(), z.string());
const status = z.enum(['firing', 'resolved']);
const time = z.string().refine((value) => normalizeTime(value) !== undefined, {
  message: 'expected an RFC 3339 time',
});

/** One alert as both senders write it (extra fields are ignored). */
const alertSchema = z.object({
  status,
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: time,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(200),
});

const commonFields = {
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status,
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(alertSchema),
};

/** Alertmanager's webhook payload, version "4". */
export const alertmanagerPayload = z.object({ version: z.literal('4'), ...commonFields });

/** Grafana alerting's webhook payload, version "1" (Alertmanager's shape plus Grafana's extras). */
export const grafanaPayload = z.object({
  version: z.literal('1'),
  ...commonFields,
  orgId: z.number().int().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
});

/** One alert of a notification, normalized. */
export interface ReceivedAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly fingerprint: string;
}

/** A webhook notification from either sender, normalized. */
export interface AlertNotification {
  readonly source: AlertSource;
  readonly groupKey: string;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly ReceivedAlert[];
}

function fieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text === '' ? 'body' : text;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return value === undefined ? 'nothing' : typeof value;
}

/**
 * Parses a webhook body of `source`, or throws an {@link InvalidArgumentError}
 * whose message names the first bad field and whose violations name each one.
 */
export function parseNotification(source: AlertSource, body: unknown): AlertNotification {
  const schema = source === 'alertmanager' ? alertmanagerPayload : grafanaPayload;
  const result = schema.safeParse(body, { reportInput: true });
  if (!result.success) {
    const violations: FieldViolation[] = result.error.issues.map((issue) => ({
      field: fieldPath(issue.path),
      problem:
        issue.code === 'invalid_type'
          ? `expected ${issue.expected}, got ${jsonType(issue.input)}`
          : issue.message,
    }));
    const [first] = violations;
    throw new InvalidArgumentError(
      `invalid ${source} notification: ${first?.field}: ${first?.problem}` +
        (violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''),
      { violations },
    );
  }
  const payload = result.data;
  return {
    source,
    groupKey: payload.groupKey,
    receiver: payload.receiver,
    status: payload.status,
    alerts: payload.alerts.map((alert) => ({
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      fingerprint: alert.fingerprint,
    })),
  };
}

/**
 * The dedupe key of one alert of a notification: groupKey + fingerprint +
 * startsAt (normalized), hashed. Both members of an HA Alertmanager pair and
 * every retry send the same three, so they share a key; the same alert firing
 * again later starts at another time and gets a new one.
 */
export function dedupeKey(source: AlertSource, groupKey: string, alert: ReceivedAlert): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([groupKey, alert.fingerprint, normalizeTime(alert.startsAt)]))
    .digest('hex');
  return `${source}:${digest}`;
}
