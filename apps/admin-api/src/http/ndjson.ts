import type { Logger } from '@nestjs/common';
import { toDeployError } from '@caracal-deploy/errors';

import type { ApiResponse } from './http-types.js';

/** Media type of a streamed answer: one JSON object per line. */
export const ndjsonType = 'application/x-ndjson';

/**
 * Writes `lines` as NDJSON. The status is sent with the first line, so a
 * failure before it keeps its own status (the exception filter answers); a
 * failure after it ends the stream with an `{"type":"error",…}` line.
 */
export async function streamNdjson(
  response: ApiResponse,
  lines: AsyncIterable<unknown>,
  logger: Logger,
  what: string,
): Promise<void> {
  let started = false;
  try {
    for await (const line of lines) {
      if (!started) {
        response.status(200);
        response.setHeader('content-type', `${ndjsonType}; charset=utf-8`);
        response.setHeader('cache-control', 'no-store');
        started = true;
      }
      response.write(`${JSON.stringify(line)}\n`);
    }
    if (!started) {
      response.status(200);
      response.setHeader('content-type', `${ndjsonType}; charset=utf-8`);
    }
    response.end();
  } catch (error) {
    if (!started) throw error;
    const typed = toDeployError(error);
    if (typed.code === 'internal')
      logger.error(`${what} failed mid-stream: ${String(typed.cause)}`);
    response.end(
      `${JSON.stringify({
        type: 'error',
        error: {
          code: typed.code,
          message: typed.message,
          violations: typed.violations,
          details: typed.details,
        },
      })}\n`,
    );
  }
}

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function abortOnClose(response: ApiResponse): AbortSignal {
  const cancel = new AbortController();
  response.on('close', () => {
    if (!response.writableFinished) cancel.abort();
  });
  return cancel.signal;
}
