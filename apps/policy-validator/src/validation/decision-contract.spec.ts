import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkDecisionContract } from './decision-contract.js';
import { regoModule } from './static-checks.test-support.js';

describe('checkDecisionContract', () => {
  it('accepts caracal.authz with result and sub-packages, and any package for tests', () => {
    assert.deepEqual(
      checkDecisionContract([
        regoModule('a.rego', 'package caracal.authz\n\ndefault result := {}\n'),
        regoModule('b.rego', 'package caracal.authz.teams\n\nx := 1\n'),
        regoModule('a_test.rego', 'package anything_test\n\ntest_x if true\n'),
      ]),
      [],
    );
  });

  it('names a module in a foreign package', () => {
    const findings = checkDecisionContract([
      regoModule('a.rego', 'package caracal.authz\n\nresult := {}\n'),
      regoModule('lib/b.rego', '# helpers\npackage caracal.authzx\n'),
    ]);
    assert.deepEqual(
      findings.map((f) => [f.code, f.location?.file, f.location?.line, f.details?.['package']]),
      [['wrong_package', 'lib/b.rego', 2, 'caracal.authzx']],
    );
  });

  it('reports a missing result rule in the caracal.authz module, and a missing package', () => {
    const noResult = checkDecisionContract([
      regoModule('a.rego', 'package caracal.authz\n\nresults := {}\n'),
    ]);
    assert.deepEqual(
      noResult.map((f) => [f.code, f.location?.file]),
      [['missing_entrypoint', 'a.rego']],
    );
    const noPackage = checkDecisionContract([regoModule('t.rego', 'package caracal.authz.t\n')]);
    assert.deepEqual(
      noPackage.map((f) => [f.code, f.location]),
      [['missing_entrypoint', undefined]],
    );
  });
});
