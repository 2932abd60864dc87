export { readBundle } from './bundle-reader.js';
export type { BundleManifest, OpaBundle } from './bundle-reader.js';
export { verifyBundleSignature } from './bundle-signature.js';
export type { VerifiedBundle, VerifyBundleOptions } from './bundle-signature.js';
export { parseJsonDiagnostics, parseTextDiagnostics } from './diagnostics.js';
export type { OpaDiagnostic } from './diagnostics.js';
export { OpaCli } from './opa-cli.js';
export type {
  BuildWasmOptions,
  BundleSigningOptions,
  CheckOptions,
  EvalOptions,
  EvalSource,
  LoadOptions,
  OpaCliOptions,
  OpaTestResult,
  TestOptions,
} from './opa-cli.js';
export { OpaCommandError, OpaPolicyError, opaBinaryMissing } from './opa-errors.js';
export { loadWasmPolicy } from './wasm-policy.js';
export type { WasmPolicy } from './wasm-policy.js';
