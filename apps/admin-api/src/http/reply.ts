import type { ApiResponse } from './http-types.js';

/**
 * Sends a JSON body with an explicit status. Handlers that answer 200 or 201
 * depending on whether something was created write the response themselves:
 * Nest would otherwise impose its per-method default status.
 */
export function sendJson(response: ApiResponse, status: number, body: unknown): void {
  response.status(status).json(body);
}
