import type { IncomingMessage, ServerResponse } from 'node:http';

/** The parts of an Express request the receivers read (no @types/express in the workspace). */
export type WebhookRequest = IncomingMessage & {
  /** The body bytes exactly as sent (HMAC signatures cover these), set by {@link RawBodyMiddleware}. */
  rawBody?: Buffer;
};

/** The parts of an Express response the receivers write. */
export type WebhookResponse = ServerResponse & {
  status(code: number): WebhookResponse;
  json(body: unknown): WebhookResponse;
};
