import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, env, loadConfig } from './index.js';

const shape = {
  CARACAL_GRPC_PORT: env.port(50051),
  CARACAL_REDIS_URL: env.url('redis://127.0.0.1:16379', ['redis:']),
  CARACAL_KAFKA_BROKERS: env.list('127.0.0.1:19092'),
  CARACAL_DEBUG: env.boolean(false),
};

describe('loadConfig', () => {
  it('applies defaults when nothing is set', () => {
    assert.deepEqual(loadConfig(shape, {}), {
      CARACAL_GRPC_PORT: 50051,
      CARACAL_REDIS_URL: 'redis://127.0.0.1:16379',
      CARACAL_KAFKA_BROKERS: ['127.0.0.1:19092'],
      CARACAL_DEBUG: false,
    });
  });

  it('parses provided values and treats empty strings as unset', () => {
    const config = loadConfig(shape, {
      CARACAL_GRPC_PORT: '6000',
      CARACAL_KAFKA_BROKERS: 'a:1, b:2',
      CARACAL_DEBUG: '1',
      CARACAL_REDIS_URL: '',
    });
    assert.equal(config.CARACAL_GRPC_PORT, 6000);
    assert.deepEqual(config.CARACAL_KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.equal(config.CARACAL_DEBUG, true);
    assert.equal(config.CARACAL_REDIS_URL, 'redis://127.0.0.1:16379');
  });

  it('names every bad key, what was wrong and what was seen', () => {
    assert.throws(
      () =>
        loadConfig(shape, {
          CARACAL_GRPC_PORT: '70000',
          CARACAL_REDIS_URL: 'http://example',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.problems.map((problem) => problem.key),
          ['CARACAL_GRPC_PORT', 'CARACAL_REDIS_URL'],
        );
        assert.match(error.message, /CARACAL_GRPC_PORT: .*\(got "70000"\)/);
        assert.match(error.message, /CARACAL_REDIS_URL: expected a URL with protocol redis:/);
        return true;
      },
    );
  });
});
