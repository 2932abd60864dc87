import type { CatalogResource } from '@caracal-deploy/contracts';
import { validatePolicyInput } from '@caracal-deploy/policy-contract';

/** A problem of a simulation input (not of the policy) that explains surprising results. */
export interface InputWarning {
  readonly code: string;
  readonly message: string;
  /** JSON pointer into the input. */
  readonly path: string;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/**
 * Why an input may not decide what the author expects: schema violations
 * (missing resource, action or context; wrong schema version), a principal of
 * another zone, a resource the zone's catalog does not have, requested scopes
 * the resource does not carry. The seed's "simulation differs from live" checks.
 */
export function inputWarnings(
  input: unknown,
  zoneId: string,
  catalog: readonly CatalogResource[],
): InputWarning[] {
  const warnings: InputWarning[] = validatePolicyInput(input).errors.map((error) => ({
    code: 'input_schema',
    message: error.message,
    path: error.path,
  }));
  const value = record(input);
  if (!value) return warnings;
  const principal = record(value['principal']);
  if (principal && typeof principal['zone_id'] === 'string' && principal['zone_id'] !== zoneId) {
    warnings.push({
      code: 'principal_zone_mismatch',
      message: `principal.zone_id is ${JSON.stringify(principal['zone_id'])}, the simulation is for zone ${JSON.stringify(zoneId)}`,
      path: '/principal/zone_id',
    });
  }
  const resource = record(value['resource']);
  const identifier =
    typeof resource?.['identifier'] === 'string' ? resource['identifier'] : undefined;
  const resourceScopes = strings(resource?.['scopes']);
  if (identifier !== undefined && catalog.length > 0) {
    const entry = catalog.find((item) => item.identifier === identifier);
    if (!entry) {
      warnings.push({
        code: 'unknown_resource',
        message: `resource ${identifier} is not in zone ${zoneId}'s catalog`,
        path: '/resource/identifier',
      });
    } else {
      const stale = resourceScopes.filter((scope) => !entry.scopes.includes(scope));
      if (stale.length > 0) {
        warnings.push({
          code: 'resource_scopes_not_in_catalog',
          message: `resource.scopes lists ${stale.join(', ')}, which the catalog's ${identifier} does not have`,
          path: '/resource/scopes',
        });
      }
    }
  }
  const requested = strings(record(value['context'])?.['requested_scopes']);
  const outside = requested.filter((scope) => !resourceScopes.includes(scope));
  if (resource && outside.length > 0) {
    warnings.push({
      code: 'scopes_not_in_resource',
      message: `requested scopes ${outside.join(', ')} are not scopes of the resource`,
      path: '/context/requested_scopes',
    });
  }
  return warnings;
}
