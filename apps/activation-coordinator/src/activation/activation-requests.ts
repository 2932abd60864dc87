import type { ActivateRequest, ListActivationsRequest } from '@caracal-deploy/contracts';
import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';

import { storedTrigger } from './activation-status.js';
import type { ActivationCommand } from './activation.repository.js';

/** Zone names: the slugs the registry and the data plane use. */
const zonePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Entity ids: UUIDs in PostgreSQL's lowercase text form. */
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longest accepted idempotency key, actor or reason. */
const maxTextLength = 1_000;

/** Default and largest page of `ListActivations`. */
export const defaultPageSize = 50;
export const maxPageSize = 500;

const fail = (message: string, violations: FieldViolation[]): never => {
  throw new InvalidArgumentError(message, { violations });
};

/** Violations of a zone id field (empty when it is a zone slug). */
export function zoneViolations(field: string, value: string): FieldViolation[] {
  if (!value) return [{ field, problem: 'required, got nothing' }];
  if (!zonePattern.test(value))
    return [
      { field, problem: `expected a zone slug like "zone-eu", got ${JSON.stringify(value)}` },
    ];
  return [];
}

/** Violations of an id field that must be a UUID. */
export function uuidViolations(field: string, value: string, required = true): FieldViolation[] {
  if (!value) return required ? [{ field, problem: 'required, got nothing' }] : [];
  if (!uuidPattern.test(value))
    return [{ field, problem: `expected a UUID, got ${JSON.stringify(value)}` }];
  return [];
}

function textViolations(field: string, value: string): FieldViolation[] {
  if (!value.trim()) return [{ field, problem: 'required, got nothing' }];
  if (value.length > maxTextLength)
    return [{ field, problem: `at most ${maxTextLength} characters, got ${value.length}` }];
  return [];
}

/** Checks an `ActivateRequest`, naming every bad field at once. */
export function parseActivateRequest(request: ActivateRequest): ActivationCommand {
  const trigger = storedTrigger(request.trigger);
  const violations = [
    ...zoneViolations('zone_id', request.zoneId),
    ...uuidViolations('policy_set_version_id', request.policySetVersionId),
    ...(request.expectedActiveVersionId === undefined
      ? [
          {
            field: 'expected_active_version_id',
            problem:
              'required for compare-and-set: the active version id, or "" when the zone has none',
          },
        ]
      : uuidViolations('expected_active_version_id', request.expectedActiveVersionId, false)),
    ...textViolations('idempotency_key', request.idempotencyKey),
    ...textViolations('reason', request.reason),
    ...textViolations('actor', request.actor),
    ...(trigger === undefined
      ? [{ field: 'trigger', problem: `unknown trigger ${request.trigger}` }]
      : []),
  ];
  if (violations.length > 0) fail('invalid activation request', violations);
  return {
    zoneId: request.zoneId,
    policySetVersionId: request.policySetVersionId,
    expectedActiveVersionId: request.expectedActiveVersionId ?? '',
    idempotencyKey: request.idempotencyKey,
    reason: request.reason,
    actor: request.actor,
    trigger: trigger ?? 'manual',
  };
}

/** A checked history page request: size and the sequence number to continue below. */
export interface HistoryPage {
  readonly zoneId: string;
  readonly pageSize: number;
  readonly beforeSeq: string | undefined;
}

/** Checks a `ListActivationsRequest`; the page token is the last entry's sequence number. */
export function parseListRequest(request: ListActivationsRequest): HistoryPage {
  const violations = [...zoneViolations('zone_id', request.zoneId)];
  if (request.pageSize < 0 || request.pageSize > maxPageSize)
    violations.push({
      field: 'page_size',
      problem: `expected 0 (default ${defaultPageSize}) to ${maxPageSize}, got ${request.pageSize}`,
    });
  if (request.pageToken && !/^[1-9][0-9]{0,18}$/.test(request.pageToken))
    violations.push({
      field: 'page_token',
      problem: 'expected the next_page_token of a previous call',
    });
  if (violations.length > 0) fail('invalid history request', violations);
  return {
    zoneId: request.zoneId,
    pageSize: request.pageSize || defaultPageSize,
    beforeSeq: request.pageToken || undefined,
  };
}
