import {
  Decision,
  type Finding,
  Severity,
  type TestResult,
  type ValidateResponse,
} from '@caracal-deploy/contracts';

import { canonicalJson, canonicalSha256 } from '../common/canonical-json.js';
import type {
  PolicyVersionContent,
  StoredFinding,
  StoredTestResult,
} from '../database/registry.schema.js';
import type { NewVerdict, ResourceRow } from '../database/registry.repository.js';
import type { PolicySourceInit } from './validator.client.js';

/** The catalog as the validator receives it, in identifier order. */
export function catalogOf(rows: readonly ResourceRow[]): PolicySourceInit['catalog'] {
  return rows.map((row) => ({
    identifier: row.identifier,
    id: row.catalog_id,
    scopes: [...row.scopes],
    operations: [...row.operations],
  }));
}

/** Hash of the catalog a verdict was computed against, so a stale verdict can be recognised. */
export function catalogSha256(rows: readonly ResourceRow[]): string {
  return canonicalSha256(catalogOf(rows));
}

const decisions = { allow: Decision.ALLOW, deny: Decision.DENY } as const;

/** The validator request for some content in a zone with its catalog. */
export function policySourceOf(
  zone: string,
  content: PolicyVersionContent,
  catalog: readonly ResourceRow[],
): PolicySourceInit {
  return {
    zoneId: zone,
    modules: content.modules.map((module) => ({ path: module.path, source: module.source })),
    data: content.data.map((document) => ({
      path: document.path,
      json: new TextEncoder().encode(canonicalJson(document.json)),
    })),
    tests: content.tests.map((test) => ({
      name: test.name,
      inputJson: new TextEncoder().encode(canonicalJson(test.input)),
      expectedDecision: decisions[test.expected_decision],
    })),
    catalog: catalogOf(catalog),
  };
}

const severityNames: Record<Severity, StoredFinding['severity']> = {
  [Severity.UNSPECIFIED]: 'unspecified',
  [Severity.ERROR]: 'error',
  [Severity.WARNING]: 'warning',
};

const decisionNames: Record<Decision, string> = {
  [Decision.UNSPECIFIED]: 'unspecified',
  [Decision.ALLOW]: 'allow',
  [Decision.DENY]: 'deny',
};

/** A finding as stored and returned: the validator's fields, unchanged, in snake_case JSON. */
export function storedFinding(finding: Finding): StoredFinding {
  return {
    severity: severityNames[finding.severity] ?? 'unspecified',
    code: finding.code,
    message: finding.message,
    location: {
      file: finding.location?.file ?? '',
      line: finding.location?.line ?? 0,
      column: finding.location?.column ?? 0,
    },
    details: { ...finding.details },
  };
}

/** A test outcome as stored and returned. */
export function storedTestResult(test: TestResult): StoredTestResult {
  return {
    name: test.name,
    kind: test.kind,
    passed: test.passed,
    expected: decisionNames[test.expected] ?? 'unspecified',
    actual: decisionNames[test.actual] ?? 'unspecified',
    message: test.message,
  };
}

/**
 * The verdict to store for a validator answer. `valid` is recomputed from the
 * findings as well, so a validator bug that says valid next to an ERROR
 * finding cannot let a broken version through.
 */
export function verdictOf(response: ValidateResponse, catalogSha: string): NewVerdict {
  const findings = response.findings.map(storedFinding);
  return {
    valid: response.valid && !findings.some((finding) => finding.severity === 'error'),
    findings,
    tests: response.tests.map(storedTestResult),
    opaVersion: response.opaVersion,
    catalogSha256: catalogSha,
  };
}
