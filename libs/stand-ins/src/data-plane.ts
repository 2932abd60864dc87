import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { type OpaCli } from '@caracal-deploy/opa';

/** One catalog entry as the Admin API lists it (the fields the STS reads). */
export interface CatalogResource {
  readonly identifier: string;
  readonly id: string;
  readonly type?: string;
  readonly scopes: readonly string[];
  readonly operations: readonly string[];
}

/** A test policy: allow when every requested scope is in `data.allowed_scopes`. */
export const scopePolicy = `package caracal.authz

default result := {"decision": "deny", "evaluation_status": "complete", "determining_policies": [{"id": "scope-gate"}], "diagnostics": []}

result := {"decision": "allow", "evaluation_status": "complete", "determining_policies": [{"id": "scope-gate"}], "diagnostics": []} if {
	every scope in input.context.requested_scopes { scope in data.allowed_scopes }
}
`;

/** A signed, OPA-built bundle and what a binding needs to name it. */
export interface BuiltBundle {
  readonly revision: string;
  readonly bundleSha256: string;
  readonly bytes: Uint8Array;
}

/** A P-256 private key written as PEM into `dir/name`; returns the path. */
export async function writeEs256Key(dir: string, name: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const path = join(dir, name);
  await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return path;
}

/** Builds {@link scopePolicy} with `allowedScopes` into a wasm bundle signed by `keyPath` as `keyId`. */
export async function buildSignedBundle(
  opa: OpaCli,
  dir: string,
  name: string,
  allowedScopes: readonly string[],
  signing: { readonly keyPath: string; readonly keyId: string },
): Promise<BuiltBundle> {
  const src = join(dir, name);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'policy.rego'), scopePolicy);
  await writeFile(join(src, 'data.json'), JSON.stringify({ allowed_scopes: allowedScopes }));
  const claimsPath = join(dir, `${name}.claims.json`);
  await writeFile(claimsPath, JSON.stringify({ keyid: signing.keyId }));
  const revision = createHash('sha256')
    .update(`${name}:${allowedScopes.join(',')}`)
    .digest('hex');
  const bytes = await opa.buildWasm('.', ['caracal/authz/result'], {
    bundle: true,
    cwd: src,
    revision,
    signing: { keyPath: signing.keyPath, algorithm: 'ES256', claimsPath },
  });
  return { revision, bundleSha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/**
 * Stands in for the Admin API's two routes the STS reads (a service boundary):
 * `GET /v1/bundles/{sha256}` and `GET /v1/zones/{zone}/resources` with cursor
 * paging, both behind a bearer token. Serves one resource per page so paging is exercised.
 */
export class FakeAdminApi {
  readonly bundles = new Map<string, Uint8Array>();
  readonly catalogs = new Map<string, CatalogResource[]>();
  private readonly server: Server;

  constructor(private readonly token: string) {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://admin');
      const json = (status: number, body: unknown) =>
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify(body));
      if (request.headers.authorization !== `Bearer ${this.token}`) {
        return json(401, { code: 'unauthenticated', message: 'missing bearer token' });
      }
      const bundle = /^\/v1\/bundles\/([0-9a-f]{64})$/.exec(url.pathname);
      if (bundle) {
        const bytes = this.bundles.get(bundle[1]!);
        if (!bytes) return json(404, { code: 'not_found', message: 'no such bundle' });
        return response.writeHead(200, { 'content-type': 'application/gzip' }).end(bytes);
      }
      const catalog = /^\/v1\/zones\/([a-z0-9-]+)\/resources$/.exec(url.pathname);
      if (catalog) {
        const items = this.catalogs.get(catalog[1]!);
        if (!items) return json(404, { code: 'not_found', message: 'no such zone' });
        const index = Number(url.searchParams.get('cursor') ?? '0');
        const item = items[index];
        return json(200, {
          items: item
            ? [
                {
                  ...item,
                  zone: catalog[1],
                  created_by: 'test',
                  created_at: new Date().toISOString(),
                },
              ]
            : [],
          next_cursor: index + 1 < items.length ? String(index + 1) : null,
        });
      }
      return json(404, { code: 'not_found', message: `no route ${url.pathname}` });
    });
  }

  /** Binds on loopback; resolves with the base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
