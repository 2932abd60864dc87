import { readFileSync } from 'node:fs';

/**
 * Builtins rejected at validation because a decision must not depend on them
 * (network, the OPA runtime, randomness, wall-clock time); DESIGN.md's list. A
 * trailing `*` matches a family: `net.cidr_*` is every `net.cidr_` builtin.
 */
export const blockedBuiltinPatterns: readonly string[] = [
  'http.send',
  'net.lookup_ip_addr',
  'net.cidr_*',
  'opa.runtime',
  'rand.intn',
  'time.now_ns',
];

/** True when `name` is on the blocked list. */
export function isBlockedBuiltin(name: string): boolean {
  return blockedBuiltinPatterns.some((pattern) =>
    pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}

/** The derived list of builtins opa-wasm cannot run (tools/opa/derive-wasm-builtins.mjs). */
export interface WasmUnsupportedBuiltins {
  /** OPA version whose capabilities and wasm compiler the list was derived with. */
  readonly opa_version: string;
  /** `@open-policy-agent/opa-wasm` version whose JS builtins were checked. */
  readonly opa_wasm_sdk_version: string;
  readonly builtins: readonly string[];
  /** Why each one is unsupported. */
  readonly reasons: Readonly<Record<string, string>>;
}

// JSON data next to this file in src/; from dist/builtins the same relative URL
// reaches it (dist and src are siblings).
const listUrl = new URL('../../src/builtins/wasm-unsupported.json', import.meta.url);

/** Reads the committed wasm-unsupported list. */
export function loadWasmUnsupportedBuiltins(): WasmUnsupportedBuiltins {
  return JSON.parse(readFileSync(listUrl, 'utf8')) as WasmUnsupportedBuiltins;
}

/** How a builtin name is classified for findings. */
export type BuiltinVerdict = 'blocked' | 'wasm_unsupported' | 'allowed';

/** Classifies builtins: blocked wins over wasm-unsupported (both are rejected). */
export class BuiltinRules {
  private readonly unsupported: ReadonlySet<string>;

  constructor(readonly wasmUnsupported: WasmUnsupportedBuiltins = loadWasmUnsupportedBuiltins()) {
    this.unsupported = new Set(wasmUnsupported.builtins);
  }

  /** Classifies one builtin name. */
  verdict(name: string): BuiltinVerdict {
    if (isBlockedBuiltin(name)) return 'blocked';
    if (this.unsupported.has(name)) return 'wasm_unsupported';
    return 'allowed';
  }

  /**
   * OPA capabilities (as `opa capabilities --current` prints them) without the
   * rejected builtins, so `opa check --capabilities` reports every use of one as
   * `undefined function <name>` with file, row and column.
   */
  restrict<T extends { builtins: readonly { name: string }[] }>(capabilities: T): T {
    return {
      ...capabilities,
      builtins: capabilities.builtins.filter((builtin) => this.verdict(builtin.name) === 'allowed'),
    };
  }
}
