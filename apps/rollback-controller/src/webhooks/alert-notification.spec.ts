import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { alertmanagerBody, grafanaBody, testAlert } from '../test-support/payloads.js';
import { dedupeKey, normalizeTime, parseNotification } from './alert-notification.js';

function violationFields(thrown: unknown): string[] {
  assert.ok(
    thrown instanceof InvalidArgumentError,
    `expected InvalidArgumentError, got ${String(thrown)}`,
  );
  return thrown.violations.map((violation) => violation.field);
}

describe('webhook payload parsing', () => {
  it('reads an Alertmanager version 4 notification', () => {
    const notification = parseNotification(
      'alertmanager',
      alertmanagerBody([
        testAlert('zone-a'),
        testAlert(undefined, { status: 'resolved', fingerprint: 'f2' }),
      ]),
    );
    assert.equal(notification.source, 'alertmanager');
    assert.equal(notification.groupKey, '{}:{alertname="CaracalStsPolicyStale"}');
    assert.equal(notification.status, 'firing');
    assert.equal(notification.alerts.length, 2);
    assert.equal(notification.alerts[0]?.labels['zone'], 'zone-a');
    assert.equal(notification.alerts[1]?.status, 'resolved');
  });

  it("reads a Grafana version 1 notification with Grafana's extra fields", () => {
    const notification = parseNotification('grafana', grafanaBody([testAlert('zone-b')]));
    assert.equal(notification.source, 'grafana');
    assert.equal(notification.alerts[0]?.labels['zone'], 'zone-b');
    assert.match(notification.alerts[0]?.fingerprint ?? '', /^[0-9a-f]{16}$/);
  });

  it("refuses the other sender's version, naming the field", () => {
    assert.throws(
      () => parseNotification('alertmanager', grafanaBody([testAlert('zone-a')])),
      (thrown: unknown) => violationFields(thrown).includes('version'),
    );
    assert.throws(
      () => parseNotification('grafana', alertmanagerBody([testAlert('zone-a')])),
      (thrown: unknown) => violationFields(thrown).includes('version'),
    );
  });

  it('names every malformed field: missing groupKey, bad status, bad startsAt, label types', () => {
    const body = alertmanagerBody([
      testAlert('zone-a', { startsAt: 'yesterday' }),
      { ...testAlert('zone-a'), status: 'pending' as 'firing' },
    ]) as Record<string, unknown>;
    delete body['groupKey'];
    (body['alerts'] as { labels: unknown }[])[0]!.labels = { zone: 7 };
    let fields: string[] = [];
    assert.throws(
      () => parseNotification('alertmanager', body),
      (thrown: unknown) => {
        fields = violationFields(thrown);
        assert.match((thrown as Error).message, /^invalid alertmanager notification: /);
        return true;
      },
    );
    assert.deepEqual(fields.sort(), [
      'alerts[0].labels.zone',
      'alerts[0].startsAt',
      'alerts[1].status',
      'groupKey',
    ]);
  });

  it('refuses a body that is not an object, naming the body', () => {
    assert.throws(
      () => parseNotification('alertmanager', []),
      (thrown: unknown) => violationFields(thrown).includes('body'),
    );
  });
});

describe('dedupe keys', () => {
  it('normalizes RFC 3339 times to one text per instant, keeping nanoseconds', () => {
    assert.equal(
      normalizeTime('2026-12-01T07:00:00.5+02:00'),
      normalizeTime('2026-12-01T05:00:00.500Z'),
    );
    assert.equal(normalizeTime('2026-12-01T05:00:00Z'), '1796101200.000000000');
    assert.notEqual(
      normalizeTime('2026-12-01T05:00:00.123456789Z'),
      normalizeTime('2026-12-01T05:00:00.123456788Z'),
    );
    assert.equal(normalizeTime('2026-12-01 05:00:00'), undefined);
  });

  it('is the same for HA duplicates and retries, and differs per group, alert, start and sender', () => {
    const groupKey = '{}:{alertname="X"}';
    const alert = parseNotification('alertmanager', alertmanagerBody([testAlert('zone-a')]))
      .alerts[0]!;
    const key = dedupeKey('alertmanager', groupKey, alert);
    assert.match(key, /^alertmanager:[0-9a-f]{64}$/);
    assert.equal(dedupeKey('alertmanager', groupKey, { ...alert }), key);
    assert.equal(
      dedupeKey('alertmanager', groupKey, {
        ...alert,
        startsAt: '2026-12-01T06:00:00.123456789+01:00',
      }),
      key,
      'the same instant written with another offset',
    );
    assert.notEqual(dedupeKey('alertmanager', '{}:{alertname="Y"}', alert), key);
    assert.notEqual(dedupeKey('alertmanager', groupKey, { ...alert, fingerprint: 'ffff' }), key);
    assert.notEqual(
      dedupeKey('alertmanager', groupKey, { ...alert, startsAt: '2026-12-01T05:10:00Z' }),
      key,
    );
    assert.notEqual(dedupeKey('grafana', groupKey, alert), key);
  });
});
