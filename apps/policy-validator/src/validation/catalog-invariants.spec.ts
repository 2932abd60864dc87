import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkCatalogInvariants } from './catalog-invariants.js';
import { dataDocument, regoModule } from './static-checks.test-support.js';

const catalog = [
  { identifier: 'resource://api', id: 'r1', scopes: ['read', 'write'] },
  { identifier: 'resource://files', id: 'r2', scopes: ['upload'] },
];

describe('checkCatalogInvariants', () => {
  it('accepts known resources and scopes, and ignores format templates', () => {
    const module = regoModule(
      'p.rego',
      [
        'package caracal.authz.p',
        'a if input.resource.identifier == "resource://api"',
        'b if "read" in input.context.requested_scopes',
        'c if input.resource.scopes[_] == "upload"',
        'd := sprintf("resource://%s", [input.x])',
        'e := sprintf("not a scope %v", [input.context.requested_scopes])',
      ].join('\n'),
    );
    const grants = dataDocument('caracal/grants/data.json', [
      { resource: 'resource://api', scopes: ['read'] },
    ]);
    assert.deepEqual(checkCatalogInvariants([module], [grants], catalog), []);
  });

  it('names unknown resources in modules and data, with locations', () => {
    const module = regoModule('p.rego', 'package caracal.authz.p\n\nx := "resource://nope"\n');
    const data = dataDocument('caracal/data.json', {
      links: { 'resource://gone': ['resource://api'] },
    });
    const findings = checkCatalogInvariants([module], [data], catalog);
    assert.deepEqual(
      findings.map((f) => [
        f.code,
        f.details?.['resource'],
        f.location?.file,
        f.location?.line,
        f.location?.column,
      ]),
      [
        ['unknown_resource', 'resource://nope', 'p.rego', 3, 6],
        ['unknown_resource', 'resource://gone', 'caracal/data.json', 3, 5],
      ],
    );
  });

  it('checks scope literals compared with the request scopes, in sets too', () => {
    const module = regoModule(
      'p.rego',
      'package caracal.authz.p\nok if input.context.requested_scopes[_] in {"read", "delete"}\n',
    );
    const findings = checkCatalogInvariants([module], [], catalog);
    assert.deepEqual(
      findings.map((f) => [f.code, f.details?.['scope'], f.location?.line, f.location?.column]),
      [['unknown_scope', 'delete', 2, 53]],
    );
  });

  it('checks grants wherever data.caracal.grants is mounted, in arrays and named groups', () => {
    const root = dataDocument('data.json', {
      caracal: {
        grants: {
          team_a: { resource: 'resource://api', scopes: ['upload'] },
          team_b: [{ resource: 'resource://ghost', scopes: [] }, { scopes: ['read'] }, 'x'],
          team_c: { resource: 'resource://files', scopes: ['purge'] },
        },
      },
    });
    const findings = checkCatalogInvariants([], [root], catalog);
    assert.deepEqual(
      findings.map((f) => [f.code, f.details?.['pointer']]),
      [
        ['invalid_grant', '/caracal/grants/team_a/scopes/0'],
        ['invalid_grant', '/caracal/grants/team_b/0'],
        ['invalid_grant', '/caracal/grants/team_b/1'],
        ['invalid_grant', '/caracal/grants/team_b/2'],
        ['unknown_scope', '/caracal/grants/team_c/scopes/0'],
      ],
    );
    // The scope of another resource is an invalid grant, one no resource has is unknown.
    assert.match(findings[0]?.message ?? '', /only has scopes read, write/);
    assert.equal(findings[4]?.details?.['scope'], 'purge');
  });

  it('ignores data mounted elsewhere', () => {
    const other = dataDocument('caracal/roles/data.json', {
      grants: [{ resource: 'resource://api', scopes: ['x'] }],
    });
    assert.deepEqual(checkCatalogInvariants([], [other], catalog), []);
  });
});
