import { InvalidArgumentError } from '@caracal-deploy/errors';
import { loadPolicy } from '@open-policy-agent/opa-wasm';

/** One evaluation's value with the JSON text OPA wrote for it. */
export interface JsonEvaluation {
  /** The value, or `undefined` when the rule is undefined for this input. */
  readonly value: unknown;
  /** `value` as JSON text (`undefined` with it), as OPA serialised it. */
  readonly json: string | undefined;
}

/** A compiled policy loaded into this process, with its data set, ready to evaluate. */
export interface WasmPolicy {
  /** Entrypoints the module exports, e.g. `caracal/authz/result`. */
  readonly entrypoints: readonly string[];
  /**
   * Evaluates `input` at `entrypoint` (default: the module's first) and returns the
   * value, or `undefined` when the rule is undefined for this input.
   */
  evaluate(input: unknown, entrypoint?: string): unknown;
  /**
   * Evaluates an input given as JSON (text, or UTF-8 bytes that must be one
   * well-formed JSON value), returning the value and its JSON text: a caller that
   * already holds the input serialised, or records the result, skips a round of JSON.
   */
  evaluateJson(input: string | Uint8Array, entrypoint?: string): JsonEvaluation;
}

/** The fields of opa-wasm's loaded policy that its own ABI 1.2 fast path uses. */
interface OpaInstance {
  readonly minorVersion: number;
  readonly mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly wasmInstance: { readonly exports: Record<string, unknown> };
  readonly dataAddr: number;
  readonly dataHeapPtr: number;
  readonly entrypoints: Readonly<Record<string, number>>;
}

const pageSize = 64 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const resultPrefix = '[{"result":';
const resultSuffix = '}]';

/**
 * Evaluation straight on the module's exports (the ABI 1.2 `opa_eval` call that
 * opa-wasm's own `evaluate` makes), without its per-call costs: the input is
 * written into wasm memory in place (no intermediate buffer), the result's end
 * is found natively, and encoder and decoder are reused. Same module, same
 * call, same bytes in: the same answer. Undefined for modules older than ABI 1.2
 * or an opa-wasm whose internals differ; the caller then uses `evaluate`.
 */
function directEvaluator(
  instance: OpaInstance,
): ((input: string | Uint8Array, entrypoint: number) => string) | undefined {
  const opaEval = instance.wasmInstance?.exports?.['opa_eval'];
  if (
    instance.minorVersion < 2 ||
    typeof opaEval !== 'function' ||
    typeof instance.mem?.grow !== 'function' ||
    typeof instance.dataHeapPtr !== 'number' ||
    typeof instance.dataAddr !== 'number'
  ) {
    return undefined;
  }
  const call = opaEval as (...args: number[]) => number;
  const ensure = (end: number) => {
    const missing = end - instance.mem.buffer.byteLength;
    if (missing > 0) instance.mem.grow(Math.ceil(missing / pageSize));
  };
  return (input, entrypoint) => {
    // Read on every call: setData moves them.
    const inputAddr = instance.dataHeapPtr;
    let inputLen: number;
    if (typeof input === 'string') {
      // UTF-8 never takes more than three bytes per UTF-16 code unit.
      ensure(inputAddr + input.length * 3);
      inputLen = encoder.encodeInto(input, new Uint8Array(instance.mem.buffer, inputAddr)).written;
    } else {
      ensure(inputAddr + input.byteLength);
      new Uint8Array(instance.mem.buffer).set(input, inputAddr);
      inputLen = input.byteLength;
    }
    const resultAddr = call(
      0,
      entrypoint,
      instance.dataAddr,
      inputAddr,
      inputLen,
      inputAddr + inputLen,
      0,
    );
    // Evaluation may have grown the memory: view it afresh.
    const memory = new Uint8Array(instance.mem.buffer);
    const end = memory.indexOf(0, resultAddr);
    return decoder.decode(memory.subarray(resultAddr, end < 0 ? memory.length : end));
  };
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
  const ids = (policy.entrypoints ?? {}) as Readonly<Record<string, number>>;
  const entrypoints = Object.keys(ids);
  const direct = directEvaluator(policy);

  const entrypointId = (entrypoint: string | undefined): number => {
    if (entrypoint === undefined) return 0;
    const id = Object.hasOwn(ids, entrypoint) ? ids[entrypoint] : undefined;
    if (id === undefined) {
      throw new InvalidArgumentError(`the policy has no entrypoint ${JSON.stringify(entrypoint)}`, {
        violations: [{ field: 'entrypoint', problem: `expected one of ${entrypoints.join(', ')}` }],
      });
    }
    return id;
  };
  const viaLibrary = (input: unknown, id: number): unknown => {
    const results = policy.evaluate(input, id) as readonly { result: unknown }[];
    return results[0]?.result;
  };
  const evaluateJson = (input: string | Uint8Array, entrypoint?: string): JsonEvaluation => {
    const id = entrypointId(entrypoint);
    if (!direct) {
      const text = typeof input === 'string' ? input : decoder.decode(input);
      const value = viaLibrary(encoder.encode(text).buffer, id);
      return { value, json: value === undefined ? undefined : JSON.stringify(value) };
    }
    const text = direct(input, id);
    const results = JSON.parse(text) as readonly { result: unknown }[];
    const value = results[0]?.result;
    if (value === undefined) return { value, json: undefined };
    // OPA writes a one-rule result set as [{"result":<value>}]: the value's text is the middle.
    const json =
      results.length === 1 && text.startsWith(resultPrefix) && text.endsWith(resultSuffix)
        ? text.slice(resultPrefix.length, -resultSuffix.length)
        : JSON.stringify(value);
    return { value, json };
  };

  return {
    entrypoints,
    evaluate(input, entrypoint) {
      const id = entrypointId(entrypoint);
      // Like opa-wasm: a falsy input is no input at all.
      if (!direct || !input) return viaLibrary(input, id);
      const serialised =
        input instanceof ArrayBuffer ? new Uint8Array(input) : JSON.stringify(input);
      const results = JSON.parse(direct(serialised, id)) as readonly { result: unknown }[];
      return results[0]?.result;
    },
    evaluateJson,
  };
}
