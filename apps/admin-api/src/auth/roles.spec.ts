import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { bearerToken, generateApiToken, hashApiToken, tokenPrefix } from './api-token.js';
import { roleAllows, roles } from './roles.js';

describe('roles', () => {
  it('orders viewer < author < deployer < admin', () => {
    assert.deepEqual(roles, ['viewer', 'author', 'deployer', 'admin']);
    assert.equal(roleAllows('viewer', 'viewer'), true);
    assert.equal(roleAllows('viewer', 'author'), false);
    assert.equal(roleAllows('author', 'viewer'), true);
    assert.equal(roleAllows('deployer', 'author'), true);
    assert.equal(roleAllows('deployer', 'admin'), false);
    assert.equal(roleAllows('admin', 'deployer'), true);
  });

  it('lets anyone use a public route', () => {
    for (const role of roles) assert.equal(roleAllows(role, 'public'), true);
  });
});

describe('API tokens', () => {
  it('are prefixed, carry at least 32 random bytes and differ each time', () => {
    const token = generateApiToken();
    assert.ok(token.startsWith(tokenPrefix));
    assert.ok(Buffer.from(token.slice(tokenPrefix.length), 'base64url').length >= 32);
    assert.notEqual(generateApiToken(), token);
  });

  it('are stored as a sha256 that does not contain the token', () => {
    const token = generateApiToken();
    const hash = hashApiToken(token);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(!hash.includes(token.slice(tokenPrefix.length, 12)));
  });

  it('are read from a Bearer Authorization header only', () => {
    assert.equal(bearerToken('Bearer cdt_abc'), 'cdt_abc');
    assert.equal(bearerToken('bearer cdt_abc'), 'cdt_abc');
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});
