import { packageOf, ruleDefinition } from './rego-lexer.js';
import { error, type PolicyModule, type ValidationFinding } from './validation-model.js';

/** The package the STS queries and the rule in it: `data.caracal.authz.result`. */
export const entrypointPackage = 'caracal.authz';
/** The entrypoint rule name inside {@link entrypointPackage}. */
export const entrypointRule = 'result';

/**
 * The decision contract's static part: every bundled module lives in
 * `caracal.authz` or below it (`wrong_package` otherwise), and some module of
 * package `caracal.authz` defines `result` (`missing_entrypoint` otherwise).
 * `_test.rego` modules are not bundled and may use any package. The check is
 * lexical (a top-level `result` starts at column 1, as `opa fmt` writes it);
 * the pipeline drops `missing_entrypoint` when `opa build -e
 * caracal/authz/result` succeeds, which proves the entrypoint exists.
 */
export function checkDecisionContract(modules: readonly PolicyModule[]): ValidationFinding[] {
  const findings: ValidationFinding[] = [];
  const entrypointModules: PolicyModule[] = [];
  for (const module of modules) {
    if (module.isTest) continue;
    const declared = packageOf(module.scanned);
    // No package line at all is a parse error `opa check` reports with its position.
    if (declared === undefined) continue;
    if (declared.name === entrypointPackage) {
      entrypointModules.push(module);
    } else if (!declared.name.startsWith(`${entrypointPackage}.`)) {
      findings.push(
        error(
          'wrong_package',
          `${module.path} declares package ${declared.name}; bundled policy modules must be in package ${entrypointPackage} or below it`,
          { file: module.path, line: declared.line, column: declared.column },
          { package: declared.name },
        ),
      );
    }
  }
  if (entrypointModules.length === 0) {
    if (findings.length === 0) {
      findings.push(
        error(
          'missing_entrypoint',
          `no module declares package ${entrypointPackage}, so the entrypoint data.${entrypointPackage}.${entrypointRule} does not exist`,
          undefined,
          { entrypoint: `data.${entrypointPackage}.${entrypointRule}` },
        ),
      );
    }
    return findings;
  }
  if (!entrypointModules.some((module) => ruleDefinition(module.scanned, entrypointRule))) {
    for (const module of entrypointModules) {
      const declared = packageOf(module.scanned);
      findings.push(
        error(
          'missing_entrypoint',
          `package ${entrypointPackage} (${module.path}) defines no rule ${entrypointRule}; the STS queries data.${entrypointPackage}.${entrypointRule}`,
          { file: module.path, line: declared?.line ?? 0, column: declared?.column ?? 0 },
          { entrypoint: `data.${entrypointPackage}.${entrypointRule}` },
        ),
      );
    }
  }
  return findings;
}
