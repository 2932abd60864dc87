import type { IncomingMessage, ServerResponse } from 'node:http';

/** The parts of an Express response the error filter writes (no @types/express in the workspace). */
export type HttpResponse = ServerResponse & {
  status(code: number): HttpResponse;
  json(body: unknown): HttpResponse;
};

/** The parts of an Express request the error filter reads. */
export type HttpRequest = IncomingMessage;
