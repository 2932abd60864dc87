export { ZonePolicyRuntime } from './zone-policy-runtime.js';
export type {
  ActiveBundle,
  ApplyOutcome,
  BundleRejectionReason,
  BundleSource,
  BundleTarget,
  BundleVerifier,
  RuntimeDecision,
  RuntimeEvents,
  ZonePolicyRuntimeOptions,
} from './zone-policy-runtime.js';
