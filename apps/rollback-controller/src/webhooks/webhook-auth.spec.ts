import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UnauthenticatedError } from '@caracal-deploy/errors';

import type { GrafanaSigning } from '../config/rollback.config.js';
import { grafanaSignature, requireBearer, requireGrafanaSignature } from './webhook-auth.js';

const token = 'a-webhook-token-of-some-length';

function refuses(work: () => void, message: RegExp): void {
  assert.throws(work, (thrown: unknown) => {
    assert.ok(thrown instanceof UnauthenticatedError);
    assert.match(thrown.message, message);
    return true;
  });
}

describe('bearer token', () => {
  it('accepts the configured token, case-insensitive scheme', () => {
    requireBearer({ authorization: `Bearer ${token}` }, token);
    requireBearer({ authorization: `bearer ${token}` }, token);
  });

  it('refuses a missing, malformed or wrong token', () => {
    refuses(() => requireBearer({}, token), /missing bearer token/);
    refuses(
      () => requireBearer({ authorization: `Basic ${token}` }, token),
      /missing bearer token/,
    );
    refuses(
      () => requireBearer({ authorization: `Bearer ${token}x` }, token),
      /wrong bearer token/,
    );
    refuses(() => requireBearer({ authorization: 'Bearer short' }, token), /wrong bearer token/);
  });
});

describe('Grafana HMAC signature', () => {
  const body = Buffer.from('{"version":"1"}');
  const plain: GrafanaSigning = {
    secret: 'grafana-shared-secret',
    signatureHeader: 'x-grafana-alerting-signature',
    timestampHeader: undefined,
    maxSkewMs: 60_000,
  };
  const timed: GrafanaSigning = { ...plain, timestampHeader: 'x-grafana-alerting-timestamp' };
  const now = 1_796_101_200_000;

  it('is the hex HMAC-SHA256 of the body, or of "<timestamp>:<body>"', () => {
    assert.match(grafanaSignature(plain.secret, body), /^[0-9a-f]{64}$/);
    assert.notEqual(
      grafanaSignature(plain.secret, body, '1'),
      grafanaSignature(plain.secret, body),
    );
  });

  it('accepts a correct signature, with and without a signed timestamp', () => {
    requireGrafanaSignature(
      { 'x-grafana-alerting-signature': grafanaSignature(plain.secret, body) },
      body,
      plain,
      now,
    );
    const timestamp = String(now / 1000 - 30);
    requireGrafanaSignature(
      {
        'x-grafana-alerting-signature': grafanaSignature(plain.secret, body, timestamp),
        'x-grafana-alerting-timestamp': timestamp,
      },
      body,
      timed,
      now,
    );
  });

  it('refuses a missing or wrong signature, another body, and a stale or missing timestamp', () => {
    refuses(() => requireGrafanaSignature({}, body, plain, now), /missing HMAC signature/);
    refuses(
      () =>
        requireGrafanaSignature(
          { 'x-grafana-alerting-signature': grafanaSignature('other-secret', body) },
          body,
          plain,
          now,
        ),
      /does not match/,
    );
    refuses(
      () =>
        requireGrafanaSignature(
          { 'x-grafana-alerting-signature': grafanaSignature(plain.secret, body) },
          Buffer.from('{"version":"2"}'),
          plain,
          now,
        ),
      /does not match/,
    );
    const stale = String(now / 1000 - 3600);
    refuses(
      () =>
        requireGrafanaSignature(
          {
            'x-grafana-alerting-signature': grafanaSignature(plain.secret, body, stale),
            'x-grafana-alerting-timestamp': stale,
          },
          body,
          timed,
          now,
        ),
      /away from now/,
    );
    refuses(
      () =>
        requireGrafanaSignature(
          { 'x-grafana-alerting-signature': grafanaSignature(plain.secret, body) },
          body,
          timed,
          now,
        ),
      /timestamp header/,
    );
  });
});
