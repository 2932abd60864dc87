import type { IncomingMessage } from 'node:http';

import type { NestMiddleware } from '@nestjs/common';

import { PayloadTooLargeError } from './http-refined.js';

/**
 * Reads request bodies itself before the route runs, instead of Express's body
 * parser, so a bad or oversized body fails through the app's exception filter
 * with the same error body as every other bad request.
 */
export abstract class BodyMiddleware<Request extends IncomingMessage> implements NestMiddleware {
  async use(request: Request, _response: unknown, next: (error?: unknown) => void): Promise<void> {
    try {
      await this.read(request);
      next();
    } catch (error) {
      next(error);
    }
  }

  /** Reads the body of `request` and keeps what the routes need on it. */
  protected abstract read(request: Request): Promise<void>;
}

/** Refuses, before reading it, a body whose declared length is over `limit` bytes. */
export function refuseDeclaredOverLimit(request: IncomingMessage, limit: number): void {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > limit) {
    request.resume();
    throw tooLarge(limit, `${declared} bytes declared`);
  }
}

/** Reads the body's bytes, failing with {@link PayloadTooLargeError} once past `limit`. */
export async function readBodyBytes(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      // Drain so the connection stays usable for the error response.
      request.resume();
      throw tooLarge(limit, `more than ${limit} bytes sent`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number, seen: string): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes (${seen})`, {
    details: { limit_bytes: String(limit) },
  });
}
