import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { type ArgumentsHost, NotFoundException } from '@nestjs/common';
import { type DeployError, UnavailableError } from '@caracal-deploy/errors';

import { HttpErrorFilter, PayloadTooLargeError } from './index.js';

interface Answer {
  status?: number;
  body?: { error: Record<string, unknown> };
  destroyed: boolean;
}

/** Runs `filter` on `exception`; returns the answer it wrote and the lines it logged. */
function run(
  filter: HttpErrorFilter,
  exception: unknown,
  headersSent = false,
): { answer: Answer; logged: string[] } {
  const answer: Answer = { destroyed: false };
  const response = {
    headersSent,
    setHeader: () => undefined,
    destroy: () => {
      answer.destroyed = true;
    },
    status(code: number) {
      answer.status = code;
      return response;
    },
    json(body: { error: Record<string, unknown> }) {
      answer.body = body;
      return response;
    },
  };
  const request = { method: 'POST', url: '/v1/things' };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  const logged: string[] = [];
  (filter as unknown as { logger: unknown }).logger = {
    error: (message: string) => logged.push(`error ${message}`),
    warn: (message: string) => logged.push(`warn ${message}`),
  };
  filter.catch(exception, host);
  return { answer, logged };
}

describe('HttpErrorFilter', () => {
  it("answers Nest's unknown route as not_found naming the route", () => {
    const { answer } = run(new HttpErrorFilter({ logContext: 'Spec' }), new NotFoundException());
    assert.equal(answer.status, 404);
    assert.deepEqual(answer.body, {
      error: {
        code: 'not_found',
        message: 'no route POST /v1/things',
        violations: [],
        details: {},
      },
    });
  });

  it('answers an unknown throw with 500, logging the cause only', () => {
    const { answer, logged } = run(
      new HttpErrorFilter({ logContext: 'Spec' }),
      new Error('secret detail'),
    );
    assert.equal(answer.status, 500);
    assert.doesNotMatch(JSON.stringify(answer.body), /secret detail/);
    assert.match(logged[0] ?? '', /^error POST \/v1\/things failed: .*secret detail/);
  });

  it('uses the refined status of an HTTP-refined error', () => {
    const { answer } = run(
      new HttpErrorFilter({ logContext: 'Spec' }),
      new PayloadTooLargeError('big'),
    );
    assert.equal(answer.status, 413);
    assert.equal(answer.body?.error['code'], 'resource_exhausted');
  });

  it('warns about unavailable answers only when asked to', () => {
    const quiet = run(new HttpErrorFilter({ logContext: 'Spec' }), new UnavailableError('down'));
    assert.equal(quiet.answer.status, 503);
    assert.deepEqual(quiet.logged, []);
    const loud = run(
      new HttpErrorFilter({ logContext: 'Spec', warnUnavailable: true }),
      new UnavailableError('down'),
    );
    assert.deepEqual(loud.logged, ['warn POST /v1/things: down']);
  });

  it('appends the fields a subclass adds after details', () => {
    class WithHint extends HttpErrorFilter {
      protected override extraFields(error: DeployError) {
        return { hint: `about ${error.code}` };
      }
    }
    const { answer } = run(new WithHint({ logContext: 'Spec' }), new UnavailableError('down'));
    assert.deepEqual(Object.keys(answer.body?.error ?? {}), [
      'code',
      'message',
      'violations',
      'details',
      'hint',
    ]);
    assert.equal(answer.body?.error['hint'], 'about unavailable');
  });

  it('cuts a streamed answer short instead of writing an error body', () => {
    const { answer } = run(
      new HttpErrorFilter({ logContext: 'Spec' }),
      new UnavailableError('down'),
      true,
    );
    assert.equal(answer.destroyed, true);
    assert.equal(answer.status, undefined);
  });
});
