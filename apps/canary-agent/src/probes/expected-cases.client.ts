import {
  InternalError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from '@caracal-deploy/errors';
import { z } from 'zod';

import type { ExpectedCasesSource } from '../config/canary.config.js';
import type { ExpectedCase } from './expected-case-probes.js';

const answerSchema = z.object({
  revision: z.number().int().nonnegative(),
  cases: z.array(
    z.object({
      name: z.string().min(1),
      input: z.record(z.string(), z.unknown()),
      expected_decision: z.enum(['allow', 'deny']),
    }),
  ),
});

/** A policy set's expected cases at one revision of the list. */
export interface ExpectedCaseList {
  readonly revision: number;
  readonly cases: readonly ExpectedCase[];
}

/**
 * Reads a policy set's expected cases from the Admin API
 * (`GET /v1/zones/{zone}/policy-sets/{set}/expected-cases`, viewer token): the
 * same cases simulation ran on the version's bundle.
 */
export async function fetchExpectedCases(
  source: ExpectedCasesSource,
  timeoutMs: number,
): Promise<ExpectedCaseList> {
  const url = `${source.adminApiUrl}/v1/zones/${encodeURIComponent(source.zone)}/policy-sets/${encodeURIComponent(source.policySet)}/expected-cases`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${source.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new UnavailableError(
      `the Admin API at ${url} is unreachable: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const body = await response.text();
  if (response.status === 401) {
    throw new UnauthenticatedError(`the Admin API refused CARACAL_CANARY_ADMIN_API_TOKEN (401)`);
  }
  if (response.status === 403) {
    throw new PermissionDeniedError(
      `CARACAL_CANARY_ADMIN_API_TOKEN may not read expected cases (403); a viewer token is enough`,
    );
  }
  if (response.status === 404) {
    throw new NotFoundError(
      `no policy set ${source.policySet} in zone ${source.zone} (Admin API 404: ${body.slice(0, 300)})`,
    );
  }
  if (response.status !== 200) {
    throw new UnavailableError(`the Admin API answered ${response.status}: ${body.slice(0, 300)}`);
  }
  let parsed: z.infer<typeof answerSchema>;
  try {
    parsed = answerSchema.parse(JSON.parse(body));
  } catch (error) {
    throw new InternalError(
      `the Admin API's expected cases are not in the expected shape: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { revision: parsed.revision, cases: parsed.cases };
}
