import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Role } from '../auth/roles.js';

/** The authenticated caller of a request. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
}

/** The parts of an Express request the API reads (no @types/express in the workspace). */
export type ApiRequest = IncomingMessage & {
  body?: unknown;
  params: Record<string, string>;
  query: Record<string, unknown>;
  principal?: Principal;
};

/** The parts of an Express response the API writes. */
export type ApiResponse = ServerResponse & {
  status(code: number): ApiResponse;
  json(body: unknown): ApiResponse;
  send(body: unknown): ApiResponse;
};

/** `actor` recorded in history for the caller of a request. */
export function actorOf(principal: Principal | undefined): string {
  return principal === undefined ? 'anonymous' : `token:${principal.name}`;
}
