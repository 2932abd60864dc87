import { InvalidArgumentError } from '@caracal-deploy/errors';
import { loadPolicy } from '@open-policy-agent/opa-wasm';

/** A compiled policy loaded into this process, with its data set, ready to evaluate. */
export interface WasmPolicy {
  /** Entrypoints the module exports, e.g. `caracal/authz/result`. */
  readonly entrypoints: readonly string[];
  /**
   * Evaluates `input` at `entrypoint` (default: the module's first) and returns the
   * value, or `undefined` when the rule is undefined for this input.
   */
  evaluate(input: unknown, entrypoint?: string): unknown;
}

/** Instantiates `wasm` (a bundle's `policy.wasm`) with opa-wasm and loads `data` into it. */
export async function loadWasmPolicy(wasm: Uint8Array, data: unknown): Promise<WasmPolicy> {
  if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) {
    throw new InvalidArgumentError('policy data must be a JSON object', {
      violations: [{ field: 'data', problem: `expected an object, got ${JSON.stringify(data)}` }],
    });
  }
  const policy = await loadPolicy(wasm);
  policy.setData(data ?? {});
  const entrypoints = Object.keys((policy.entrypoints ?? {}) as Record<string, number>);
  return {
    entrypoints,
    evaluate(input, entrypoint) {
      if (entrypoint !== undefined && !entrypoints.includes(entrypoint)) {
        throw new InvalidArgumentError(
          `the policy has no entrypoint ${JSON.stringify(entrypoint)}`,
          {
            violations: [
              { field: 'entrypoint', problem: `expected one of ${entrypoints.join(', ')}` },
            ],
          },
        );
      }
      const results = policy.evaluate(input, entrypoint) as readonly { result: unknown }[];
      return results[0]?.result;
    },
  };
}
