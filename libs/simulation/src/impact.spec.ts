import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { ImpactAggregator, evaluateGate, parseDecisionLogRecord, parseGate } from './index.js';

function input(resource: string, scopes: string[], principalType = 'Application') {
  return {
    principal: { type: principalType, id: 'app-1', zone_id: 'zone-1' },
    resource: { identifier: resource },
    context: { requested_scopes: scopes },
  };
}

describe('ImpactAggregator', () => {
  it('counts totals and groups changes by resource, scopes and principal type', () => {
    const impact = new ImpactAggregator({ examplesPerGroup: 2 });
    impact.add('d1', input('resource://api', ['write', 'read']), 'allow_to_deny');
    impact.add('d2', input('resource://api', ['read', 'write']), 'allow_to_deny');
    impact.add('d3', input('resource://api', ['read', 'write']), 'allow_to_deny');
    impact.add('d4', input('resource://files', ['read']), 'deny_to_allow');
    impact.add('d5', input('resource://files', ['read']), 'unchanged');
    impact.add('d6', {}, 'newly_erroring');

    const report = impact.report();
    assert.deepEqual(report.totals, {
      evaluated: 6,
      unchanged: 1,
      allow_to_deny: 3,
      deny_to_allow: 1,
      newly_erroring: 1,
    });
    assert.deepEqual(report.topGroups[0], {
      resource: 'resource://api',
      scopes: 'read write',
      principalType: 'Application',
      change: 'allow_to_deny',
      count: 3,
      exampleDecisionIds: ['d1', 'd2'],
    });
    assert.deepEqual(
      report.topGroups.map((group) => [group.resource, group.change, group.count]),
      [
        ['resource://api', 'allow_to_deny', 3],
        ['(none)', 'newly_erroring', 1],
        ['resource://files', 'deny_to_allow', 1],
      ],
    );
  });

  it('stays bounded: past maxGroups, changes are counted but not grouped', () => {
    const impact = new ImpactAggregator({ maxGroups: 2 });
    for (let i = 0; i < 5; i += 1)
      impact.add(`d${i}`, input(`resource://r${i}`, ['read']), 'allow_to_deny');
    const report = impact.report();
    assert.equal(report.totals.allow_to_deny, 5);
    assert.equal(report.topGroups.length, 2);
    assert.equal(report.ungroupedChanges, 3);
  });

  it('merges the reports of workers into the same totals and groups', () => {
    const [left, right, whole] = [
      new ImpactAggregator(),
      new ImpactAggregator(),
      new ImpactAggregator(),
    ];
    const events = [
      ['a', input('resource://api', ['read']), 'allow_to_deny'],
      ['b', input('resource://api', ['read']), 'allow_to_deny'],
      ['c', input('resource://x', ['read']), 'deny_to_allow'],
      ['d', input('resource://x', ['read']), 'unchanged'],
    ] as const;
    events.forEach(([id, event, change], index) => {
      (index % 2 === 0 ? left : right).add(id, event, change);
      whole.add(id, event, change);
    });
    const merged = new ImpactAggregator();
    merged.merge(left.report({ allGroups: true }));
    merged.merge(right.report({ allGroups: true }));
    assert.deepEqual(merged.report().totals, whole.report().totals);
    assert.deepEqual(
      merged.report().topGroups.map((g) => [g.resource, g.count]),
      whole.report().topGroups.map((g) => [g.resource, g.count]),
    );
  });
});

describe('evaluateGate', () => {
  const totals = {
    evaluated: 1000,
    unchanged: 980,
    allow_to_deny: 15,
    deny_to_allow: 1,
    newly_erroring: 4,
  };

  it('passes when every bound holds', () => {
    assert.deepEqual(evaluateGate({ maxAllowToDeny: 20, maxNewlyErroring: 5 }, totals), {
      verdict: 'pass',
      reasons: [],
    });
  });

  it('fails naming every violated bound', () => {
    const result = evaluateGate(
      {
        failOnDenyToAllow: true,
        maxAllowToDeny: 10,
        maxAllowToDenyRatio: 0.01,
        maxNewlyErroring: 0,
      },
      totals,
    );
    assert.equal(result.verdict, 'fail');
    assert.deepEqual(result.reasons, [
      '1 recorded denies would become allows',
      '15 allows would become denies (limit 10)',
      '1.50% of decisions would go allow → deny (limit 1.00%)',
      '4 decisions would newly error (limit 0)',
    ]);
  });

  it('never passes an empty window', () => {
    const empty = {
      evaluated: 0,
      unchanged: 0,
      allow_to_deny: 0,
      deny_to_allow: 0,
      newly_erroring: 0,
    };
    assert.deepEqual(evaluateGate({}, empty), {
      verdict: 'no_data',
      reasons: ['no recorded decisions in the window'],
    });
    assert.equal(evaluateGate({ minSamples: 2000 }, totals).verdict, 'no_data');
  });
});

describe('parseGate', () => {
  it('reads every clause form', () => {
    assert.deepEqual(
      parseGate(
        'deny_to_allow=0, allow_to_deny<=10, allow_to_deny<=0.5%, newly_erroring<=2, min_samples>=100',
      ),
      {
        failOnDenyToAllow: true,
        maxAllowToDeny: 10,
        maxAllowToDenyRatio: 0.005,
        maxNewlyErroring: 2,
        minSamples: 100,
      },
    );
  });

  it('names the clause it cannot read', () => {
    assert.throws(
      () => parseGate('deny_to_allow=0, allow_to_deny>10, banana'),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(
          error.violations.map((v) => v.field),
          ['gate[1]', 'gate[2]'],
        );
        assert.match(error.violations[0]?.problem ?? '', /allow_to_deny>10/);
        return true;
      },
    );
  });
});

describe('parseDecisionLogRecord', () => {
  const record = {
    decision_id: 'dec-1',
    zone_id: 'zone-1',
    revision: 'a'.repeat(64),
    timestamp: '2026-11-28T02:00:00.000Z',
    input: input('resource://api', ['read']),
    result: { decision: 'allow', evaluation_status: 'complete' },
  };

  it('reads a well-formed record', () => {
    const parsed = parseDecisionLogRecord(record);
    assert.ok(parsed.ok);
    assert.equal(parsed.record.timestampMs, Date.parse('2026-11-28T02:00:00.000Z'));
    assert.equal(parsed.record.decisionId, 'dec-1');
  });

  it('names every bad field', () => {
    const parsed = parseDecisionLogRecord({
      ...record,
      decision_id: '',
      timestamp: 'yesterday',
      input: [],
    });
    assert.ok(!parsed.ok);
    assert.deepEqual(
      parsed.violations.map((v) => v.field),
      ['decision_id', 'timestamp', 'input'],
    );
    assert.ok(!parseDecisionLogRecord('nope').ok);
  });
});
