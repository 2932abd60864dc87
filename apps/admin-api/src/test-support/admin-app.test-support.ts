import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { INestApplication } from '@nestjs/common';

import { createAdminApp } from '../admin-app.js';
import { runCli } from '../cli.js';
import { loadAdminConfig, type AdminConfig } from '../config/admin.config.js';

/** The Admin API booted in the test's process, and the base URL of its HTTP API. */
export interface BootedAdmin {
  readonly app: INestApplication;
  readonly config: AdminConfig;
  readonly baseUrl: string;
}

/** Boots the Admin API on ephemeral loopback ports with `env` (database, validator, peers). */
export async function bootAdmin(env: Readonly<Record<string, string>>): Promise<BootedAdmin> {
  const config = loadAdminConfig({
    CARACAL_ADMIN_HTTP_PORT: '0',
    CARACAL_ADMIN_GRPC_ADDRESS: '127.0.0.1:0',
    CARACAL_ADMIN_METRICS_PORT: '0',
    ...env,
  });
  const app = await createAdminApp(config, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, config, baseUrl: `http://127.0.0.1:${port}` };
}

/** Creates the first admin token (`root`) with the Admin API's CLI; returns its secret. */
export async function createRootToken(databaseUrl: string): Promise<string> {
  const lines: string[] = [];
  assert.equal(
    await runCli(
      ['create-token', '--role', 'admin', '--name', 'root'],
      (line) => lines.push(line),
      {
        CARACAL_POSTGRES_URL: databaseUrl,
      },
    ),
    0,
  );
  return lines[0] ?? '';
}

/** The error body of a failed Admin API request (the fields tests read). */
export interface ErrorJson {
  code: string;
  message: string;
  violations: { field: string; problem: string }[];
  details: Record<string, string>;
}

/** One answer of the Admin API; `body` is the JSON body (undefined for another content type). */
export interface AdminAnswer<Body> {
  readonly status: number;
  readonly type: string;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly text: string;
  readonly body: Body;
}

/** What one request sends besides its method and path. */
export interface AdminRequest {
  /** Sent as a bearer token. */
  readonly token?: string;
  /** Sent as JSON (`application/json` unless `headers` name another content type). */
  readonly json?: unknown;
  /** Sent as is, when there is no `json`. */
  readonly raw?: string;
  readonly accept?: string;
  readonly headers?: Record<string, string>;
}

/** A small HTTP client of one Admin API at `baseUrl`; `Body` types the JSON fields a test reads. */
export function adminClient<Body>(baseUrl: string) {
  return async function call(
    method: string,
    path: string,
    options: AdminRequest = {},
  ): Promise<AdminAnswer<Body>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.accept !== undefined) headers['accept'] = options.accept;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString('utf8');
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      type,
      headers: response.headers,
      bytes,
      text,
      body: (type.startsWith('application/json') ? JSON.parse(text) : undefined) as Body,
    };
  };
}
