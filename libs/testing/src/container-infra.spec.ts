import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FailedPreconditionError } from '@caracal-deploy/errors';

import { startContainerInfra, testcontainersEnabled } from './index.js';

const noSocket = '/nonexistent/caracal-test/docker.sock';

describe('startContainerInfra', () => {
  it('is off unless CARACAL_TESTCONTAINERS=1', async () => {
    assert.equal(testcontainersEnabled({}), false);
    assert.equal(testcontainersEnabled({ CARACAL_TESTCONTAINERS: '1' }), true);
    await assert.rejects(
      startContainerInfra(['redis'], { source: {}, dockerSocketPath: noSocket }),
      (error: unknown) =>
        error instanceof FailedPreconditionError &&
        /set CARACAL_TESTCONTAINERS=1/.test(error.message) &&
        /tools\/infra/.test(error.message),
    );
  });

  it('says Docker is not available and points to tools/infra when there is no Docker', async () => {
    await assert.rejects(
      startContainerInfra(['redis', 'postgres', 'kafka'], {
        source: { CARACAL_TESTCONTAINERS: '1' },
        dockerSocketPath: noSocket,
      }),
      (error: unknown) => {
        assert.ok(error instanceof FailedPreconditionError);
        assert.match(
          error.message,
          /^Docker is not available \(no \/nonexistent\/caracal-test\/docker\.sock and DOCKER_HOST is not set\)/,
        );
        assert.match(error.message, /default path needs no Docker/);
        assert.match(error.message, /`npm run infra -- up` \(tools\/infra\)/);
        return true;
      },
    );
  });
});
