import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { loadStaticProbes, parseStaticProbes } from './static-probes.js';

const probe = {
  id: 'orders-read',
  subject_claims: { sub: 'canary-reader' },
  resource: 'resource://orders',
  scopes: ['read'],
  method: 'GET',
  path: '/orders/canary',
  expected_decision: 'allow',
};

describe('static probes', () => {
  it('reads probes and gives the default zone to those without one', () => {
    const probes = parseStaticProbes(
      { probes: [probe, { ...probe, id: 'eu', zone: 'zone-eu', expected_decision: 'deny' }] },
      'zone-demo',
    );
    assert.deepEqual(probes[0], {
      id: 'orders-read',
      zone: 'zone-demo',
      subjectClaims: { sub: 'canary-reader' },
      resource: 'resource://orders',
      scopes: ['read'],
      method: 'GET',
      path: '/orders/canary',
      expectedDecision: 'allow',
    });
    assert.equal(probes[1]!.zone, 'zone-eu');
    assert.equal(probes[1]!.expectedDecision, 'deny');
  });

  it('names every bad field', () => {
    const bad = {
      probes: [
        probe,
        { ...probe, id: 'x', expected_decision: 'maybe', method: 'get', subject_claims: {} },
        { ...probe, extra: true },
      ],
    };
    assert.throws(
      () => parseStaticProbes(bad, 'zone-demo'),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        const fields = error.violations.map((v) => v.field).sort();
        assert.deepEqual(fields, [
          'probes[1].expected_decision',
          'probes[1].method',
          'probes[1].subject_claims',
          'probes[2]',
        ]);
        assert.match(
          error.message,
          /probes\[1\]\.subject_claims: expected a non-empty "sub" claim/,
        );
        return true;
      },
    );
  });

  it('refuses duplicate ids, naming the second', () => {
    assert.throws(
      () => parseStaticProbes({ probes: [probe, probe] }, 'zone-demo'),
      /probes\[1\]\.id: duplicate id orders-read/,
    );
  });

  it('names the setting and the file when the file is missing or not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'canary-probes-'));
    try {
      await assert.rejects(
        loadStaticProbes(join(dir, 'missing.json'), 'zone-demo'),
        /CARACAL_CANARY_PROBES_FILE: .*missing\.json is not readable/,
      );
      await writeFile(join(dir, 'bad.json'), '{"probes": [');
      await assert.rejects(
        loadStaticProbes(join(dir, 'bad.json'), 'zone-demo'),
        /CARACAL_CANARY_PROBES_FILE: .*bad\.json is not JSON/,
      );
      await writeFile(
        join(dir, 'wrong.json'),
        JSON.stringify({ probes: [{ ...probe, path: 'x' }] }),
      );
      await assert.rejects(
        loadStaticProbes(join(dir, 'wrong.json'), 'zone-demo'),
        /CARACAL_CANARY_PROBES_FILE: .*wrong\.json: .*probes\[0\]\.path: expected an absolute path/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
