import { locator } from './catalog-invariants.js';
import type { PolicyData, PolicyModule, ValidationFinding } from './validation-model.js';

/**
 * Terminology lint: names the policy itself chooses (rule names, variables, data
 * keys) that use a deprecated term get a WARNING `non_canonical_term` with the
 * canonical replacement. It never blocks a version. The list is configuration
 * (`CARACAL_VALIDATOR_DEPRECATED_TERMS`, deprecated=canonical pairs).
 *
 * Fields of references (`input.context.session_id`) are not flagged: they are
 * versioned wire keys of the Caracal input, which a policy must read as they are.
 * Comments and string literals are not flagged either.
 */
export function lintTerminology(
  modules: readonly PolicyModule[],
  data: readonly PolicyData[],
  terms: ReadonlyMap<string, string>,
): ValidationFinding[] {
  const findings: ValidationFinding[] = [];
  for (const [term, canonical] of terms) {
    // A whole identifier, not a field after a dot.
    const pattern = new RegExp(`(?<![\\w.])${escapeRegExp(term)}(?!\\w)`, 'g');
    for (const module of modules) {
      const lines = module.scanned.code.split('\n');
      lines.forEach((text, index) => {
        for (const match of text.matchAll(pattern)) {
          findings.push(
            warning(term, canonical, {
              file: module.path,
              line: index + 1,
              column: match.index + 1,
            }),
          );
        }
      });
    }
    for (const document of data) {
      const locate = locator(document);
      visitKeys(document.value, (key) => {
        if (key === term) findings.push(warning(term, canonical, locate('', key)));
      });
    }
  }
  return findings;
}

function warning(
  term: string,
  canonical: string,
  location: { file: string; line: number; column: number },
): ValidationFinding {
  return {
    severity: 'warning',
    code: 'non_canonical_term',
    message: `"${term}" is not canonical terminology; use "${canonical}"`,
    location,
    details: { term, canonical },
  };
}

function visitKeys(value: unknown, visit: (key: string) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) visitKeys(item, visit);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      visit(key);
      visitKeys(child, visit);
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
