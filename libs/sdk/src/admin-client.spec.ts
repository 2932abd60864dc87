import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { AdminClient, allPages } from './admin-client.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  UnreachableError,
  ValidationFailedError,
} from './errors.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

/** A loopback HTTP server whose answers each test scripts, recording every request. */
class ScriptedServer {
  private server: Server | undefined;
  handler: Handler = (_request, response) => response.end();
  readonly requests: {
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    body: string;
  }[] = [];

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body,
        });
        this.handler(request, response, body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

const errorBody = (code: string, message: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message, violations: [], details: {}, ...extra },
});

describe('AdminClient', () => {
  const server = new ScriptedServer();
  let baseUrl = '';
  let client: AdminClient;

  before(async () => {
    baseUrl = await server.start();
    client = new AdminClient({ baseUrl, token: 'cdt_test', retry: { baseDelayMs: 0 } });
  });
  after(() => server.stop());

  describe('error mapping', () => {
    const cases = [
      [400, 'invalid_argument', InvalidRequestError],
      [401, 'unauthenticated', UnauthorizedError],
      [403, 'permission_denied', ForbiddenError],
      [404, 'not_found', NotFoundError],
      [409, 'failed_precondition', ConflictError],
      [422, 'invalid_argument', ValidationFailedError],
    ] as const;
    for (const [status, code, type] of cases) {
      it(`maps ${status} to ${type.name} with the body's code and message`, async () => {
        server.handler = (_req, res) => answer(res, status, errorBody(code, `said ${status}`));
        const error = await client.zones.get('z1').catch((e: unknown) => e);
        assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
        assert.equal(error.status, status);
        assert.equal(error.code, code);
        assert.equal(error.message, `said ${status}`);
      });
    }

    it('keeps the named violations of a 400', async () => {
      server.handler = (_req, res) =>
        answer(res, 400, {
          error: {
            code: 'invalid_argument',
            message: 'bad',
            violations: [{ field: 'stages[1].zones[0]', problem: 'unknown zone' }],
            details: {},
          },
        });
      const error = await client.deployments
        .create({ policy_set_version_id: 'v', stages: [], reason: 'r' })
        .catch((e: unknown) => e);
      assert.ok(error instanceof InvalidRequestError);
      assert.deepEqual(error.violations, [
        { field: 'stages[1].zones[0]', problem: 'unknown zone' },
      ]);
    });

    it('exposes the current active version of a lost compare-and-set', async () => {
      server.handler = (_req, res) =>
        answer(
          res,
          409,
          errorBody('failed_precondition', 'stale', {
            details: { current_active_version_id: 'v-now' },
          }),
        );
      const error = await client.activations
        .activate('z1', {
          policy_set_version_id: 'v2',
          expected_active_version_id: 'v1',
          reason: 'r',
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof ConflictError);
      assert.equal(error.currentActiveVersionId, 'v-now');
    });

    it('carries the findings and tests of a 422', async () => {
      const finding = { severity: 'error', code: 'rego_parse_error', message: 'unexpected }' };
      server.handler = (_req, res) =>
        answer(
          res,
          422,
          errorBody('invalid_argument', 'invalid', {
            findings: [finding],
            tests: [{ name: 't1', passed: false }],
          }),
        );
      const error = await client.policies
        .createVersion('z1', 'p1', { modules: [{ path: 'a.rego', source: 'x' }] })
        .catch((e: unknown) => e);
      assert.ok(error instanceof ValidationFailedError);
      assert.deepEqual(error.findings, [finding]);
      assert.equal(error.tests[0]?.name, 't1');
    });

    it('names the dependency of a 503', async () => {
      server.handler = (_req, res) =>
        answer(
          res,
          503,
          errorBody('unavailable', 'coordinator down', { details: { dependency: 'coordinator' } }),
        );
      const error = await new AdminClient({ baseUrl, retry: { attempts: 1 } }).zones
        .list()
        .catch((e: unknown) => e);
      assert.ok(error instanceof UnavailableError);
      assert.equal(error.dependency, 'coordinator');
    });

    it('turns a refused connection into UnreachableError naming the URL', async () => {
      const closed = new ScriptedServer();
      const url = await closed.start();
      await closed.stop();
      const error = await new AdminClient({
        baseUrl: url,
        retry: { attempts: 2, baseDelayMs: 0 },
      }).zones
        .list()
        .catch((e: unknown) => e);
      assert.ok(error instanceof UnreachableError);
      assert.match(error.message, new RegExp(url.replace(/[.]/g, '\\.')));
    });
  });

  describe('retry rules', () => {
    it('retries a GET on 503 and succeeds', async () => {
      server.requests.length = 0;
      let calls = 0;
      server.handler = (_req, res) => {
        calls++;
        if (calls < 3) answer(res, 503, errorBody('unavailable', 'busy'));
        else answer(res, 200, { items: [], next_cursor: null });
      };
      const page = await client.zones.list();
      assert.deepEqual(page, { items: [], next_cursor: null });
      assert.equal(server.requests.length, 3);
    });

    it('never retries a POST without an idempotency key', async () => {
      server.requests.length = 0;
      server.handler = (_req, res) => answer(res, 503, errorBody('unavailable', 'busy'));
      await assert.rejects(client.zones.create({ name: 'z1' }), UnavailableError);
      assert.equal(server.requests.length, 1);
    });

    it('does not retry a GET on a 4xx', async () => {
      server.requests.length = 0;
      server.handler = (_req, res) => answer(res, 404, errorBody('not_found', 'no'));
      await assert.rejects(client.zones.get('nope'), NotFoundError);
      assert.equal(server.requests.length, 1);
    });

    it('retries an activation with one idempotency key, sent in header and body', async () => {
      server.requests.length = 0;
      server.handler = (_req, res) => {
        if (server.requests.length === 1) answer(res, 503, errorBody('unavailable', 'busy'));
        else answer(res, 201, { activation: { id: 'a1' }, replayed: false });
      };
      const result = await client.activations.activate('z1', {
        policy_set_version_id: 'v2',
        expected_active_version_id: '',
        reason: 'ship',
      });
      assert.equal(result.activation.id, 'a1');
      assert.equal(server.requests.length, 2);
      const keys = server.requests.map((r) => r.headers['idempotency-key']);
      assert.ok(typeof keys[0] === 'string' && keys[0].length > 0);
      assert.equal(keys[0], keys[1]);
      const body = JSON.parse(server.requests[0]?.body ?? '{}') as { idempotency_key?: string };
      assert.equal(body.idempotency_key, keys[0]);
    });

    it('gives up after the configured attempts with the last error', async () => {
      server.requests.length = 0;
      server.handler = (_req, res) => answer(res, 503, errorBody('unavailable', 'still busy'));
      const limited = new AdminClient({ baseUrl, retry: { attempts: 3, baseDelayMs: 0 } });
      await assert.rejects(limited.deployments.get('d1'), /still busy/);
      assert.equal(server.requests.length, 3);
    });
  });

  describe('NDJSON streams', () => {
    it('yields each line of a deployment watch, split across chunks', async () => {
      server.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"type":"event","event":{"seq":1,"kind":"stage_started"}}\n{"type":"ev');
        res.end('ent","event":{"seq":2,"kind":"deployment_ended"}}\n');
      };
      const kinds: string[] = [];
      for await (const line of client.deployments.watch('d1')) {
        if (line.type === 'event') kinds.push(line.event.kind);
      }
      assert.deepEqual(kinds, ['stage_started', 'deployment_ended']);
      assert.match(server.requests.at(-1)?.headers.accept ?? '', /x-ndjson/);
    });

    it('throws the typed error of an error line', async () => {
      server.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"type":"progress","read":1,"evaluated":1,"invalid":0,"skipped":0}\n');
        res.end(
          `${JSON.stringify({ type: 'error', ...errorBody('unavailable', 'kafka gone') })}\n`,
        );
      };
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const line of client.policySets.replayStream('z', 's', 'v', {
          max_samples: 5,
        })) {
          seen.push(line.type);
        }
      }, UnavailableError);
      assert.deepEqual(seen, ['progress']);
    });
  });

  it('sends the bearer token', async () => {
    server.handler = (_req, res) => answer(res, 200, { items: [], next_cursor: null });
    await client.history.list({ zone: 'z1' });
    const last = server.requests.at(-1);
    assert.equal(last?.headers.authorization, 'Bearer cdt_test');
    assert.equal(last?.url, '/v1/history?zone=z1');
  });

  it('allPages follows next_cursor until the last page', async () => {
    server.handler = (req, res) => {
      const cursor = new URL(req.url ?? '/', 'http://x').searchParams.get('cursor');
      answer(
        res,
        200,
        cursor === null
          ? { items: [{ name: 'a' }], next_cursor: 'c2' }
          : { items: [{ name: 'b' }], next_cursor: null },
      );
    };
    const names: string[] = [];
    for await (const zone of allPages((cursor) =>
      client.zones.list(cursor === undefined ? {} : { cursor }),
    )) {
      names.push(zone.name);
    }
    assert.deepEqual(names, ['a', 'b']);
  });
});
