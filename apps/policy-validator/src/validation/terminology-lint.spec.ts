import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { dataDocument, regoModule } from './static-checks.test-support.js';
import { lintTerminology } from './terminology-lint.js';

const terms = new Map([
  ['whitelist', 'allowlist'],
  ['session_id', 'authority_record_id'],
]);

describe('lintTerminology', () => {
  it('warns about rule names, variables and data keys with the canonical term and location', () => {
    const module = regoModule(
      'p.rego',
      'package caracal.authz.p\n\nwhitelist := {"a"}\nx if { session_id := input.y; session_id }\n',
    );
    const data = dataDocument('caracal/data.json', { whitelist: ['a'] });
    const findings = lintTerminology([module], [data], terms);
    assert.ok(findings.every((f) => f.severity === 'warning' && f.code === 'non_canonical_term'));
    assert.deepEqual(
      findings.map((f) => [
        f.details?.['term'],
        f.location?.file,
        f.location?.line,
        f.location?.column,
      ]),
      [
        ['whitelist', 'p.rego', 3, 1],
        ['whitelist', 'caracal/data.json', 2, 3],
        ['session_id', 'p.rego', 4, 8],
        ['session_id', 'p.rego', 4, 31],
      ],
    );
    assert.equal(findings[0]?.message, '"whitelist" is not canonical terminology; use "allowlist"');
  });

  it('leaves wire keys, comments, strings and longer identifiers alone', () => {
    const module = regoModule(
      'p.rego',
      [
        'package caracal.authz.p',
        '# the whitelist of old',
        'record := input.context.session_id',
        'label := "whitelist"',
        'whitelisted_apps := {"a"}',
      ].join('\n'),
    );
    assert.deepEqual(lintTerminology([module], [], terms), []);
  });
});
