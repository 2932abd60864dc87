import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { discoverRegoTests, regoTestQuery, regoTestResults } from './rego-unit-tests.js';
import { regoModule } from './static-checks.test-support.js';

describe('Rego unit tests through one query', () => {
  const modules = [
    regoModule('p.rego', 'package caracal.authz\n\ntest_not_in_a_test_module if true\n'),
    regoModule(
      'p_test.rego',
      'package caracal.authz_test\n\ntest_a if true\n\ntest_b if {\n\tfalse\n}\n\ntest_a if false\n',
    ),
  ];

  it('finds test rules of _test.rego modules with their position, once each', () => {
    assert.deepEqual(discoverRegoTests(modules), [
      { package: 'caracal.authz_test', name: 'test_a', file: 'p_test.rego', line: 3, column: 1 },
      { package: 'caracal.authz_test', name: 'test_b', file: 'p_test.rego', line: 5, column: 1 },
    ]);
  });

  it('queries every test and reads [true] as pass, [] or [false] as fail', () => {
    const tests = discoverRegoTests(modules);
    assert.equal(
      regoTestQuery(tests),
      '{"caracal.authz_test.test_a": [r | r := data.caracal.authz_test.test_a], "caracal.authz_test.test_b": [r | r := data.caracal.authz_test.test_b]}',
    );
    assert.equal(regoTestQuery([]), 'true');
    const results = regoTestResults(tests, {
      'caracal.authz_test.test_a': [true],
      'caracal.authz_test.test_b': [],
    });
    assert.deepEqual(
      results.map((r) => [r.name, r.passed, r.row]),
      [
        ['test_a', true, 3],
        ['test_b', false, 5],
      ],
    );
    assert.equal(
      regoTestResults(tests, { 'caracal.authz_test.test_a': [false] })[0]?.passed,
      false,
    );
  });
});
