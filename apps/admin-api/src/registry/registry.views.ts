import type {
  BundleMetaRow,
  HistoryRow,
  NamedRow,
  PolicySetVersionRow,
  PolicyVersionRow,
  ResourceRow,
  TokenRow,
  VerdictRow,
  ZoneRow,
} from '../database/registry.repository.js';

// Rows → the snake_case JSON the API returns (see the *View schemas in api.schemas.ts).

/** A zone as returned. */
export function zoneView(row: ZoneRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A catalog resource as returned. */
export function resourceView(zone: string, row: ResourceRow) {
  return {
    identifier: row.identifier,
    id: row.catalog_id,
    type: row.type,
    scopes: row.scopes,
    operations: row.operations,
    zone,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A policy or policy set as returned. */
export function namedView(zone: string, row: NamedRow) {
  return {
    id: row.id,
    zone,
    name: row.name,
    description: row.description,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A verdict as returned. */
export function verdictView(row: VerdictRow) {
  return {
    id: row.id,
    valid: row.valid,
    findings: row.findings,
    tests: row.tests,
    opa_version: row.opa_version,
    catalog_sha256: row.catalog_sha256,
    created_at: row.created_at.toISOString(),
  };
}

/** A policy version as returned; `content` only where asked for. */
export function policyVersionView(
  zone: string,
  policy: string,
  row: PolicyVersionRow,
  verdict: VerdictRow | undefined,
  withContent: boolean,
) {
  return {
    id: row.id,
    zone,
    policy,
    content_sha256: row.content_sha256,
    source_format: row.source_format,
    ...(withContent ? { content: row.content } : {}),
    verdict: verdict === undefined ? null : verdictView(verdict),
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A policy-set version as returned. */
export function policySetVersionView(
  zone: string,
  set: string,
  row: PolicySetVersionRow,
  verdict: VerdictRow | undefined,
  bundle: BundleMetaRow | undefined,
) {
  return {
    id: row.id,
    zone,
    policy_set: set,
    manifest_sha256: row.manifest_sha256,
    manifest: row.manifest,
    verdict: verdict === undefined ? null : verdictView(verdict),
    bundle_sha256: bundle?.sha256 ?? null,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A bundle's metadata as returned, with the URL it is served at. */
export function bundleView(row: BundleMetaRow) {
  return {
    sha256: row.sha256,
    revision: row.revision,
    policy_set_version_id: row.policy_set_version_id,
    size_bytes: row.size_bytes,
    signing_key_id: row.signing_key_id,
    signing_algorithm: row.signing_algorithm,
    url: `/v1/bundles/${row.sha256}`,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** A token as returned; the secret only when just created. */
export function tokenView(row: TokenRow, secret?: string) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
    ...(secret === undefined ? {} : { token: secret }),
  };
}

/** A history entry as returned. */
export function historyView(row: HistoryRow) {
  return {
    actor: row.actor,
    action: row.action,
    entity_kind: row.entity_kind,
    entity_id: row.entity_id,
    zone: row.zone,
    details: row.details,
    at: row.at.toISOString(),
  };
}
