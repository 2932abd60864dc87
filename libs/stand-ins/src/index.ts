/**
 * In-test stand-ins for service boundaries (real servers on loopback, fed by the
 * test), and helpers that build real OPA bundles for them to serve. Only spec
 * files import this lib.
 */
export { ActivationLedger } from './activation-ledger.js';
export type { LedgerActivation } from './activation-ledger.js';
export { ActivationStandIn, FakeCoordinator } from './activation-stand-in.js';
export type { ActivationHandlers, TestBinding } from './activation-stand-in.js';
export { CannedActivations, convergedActivation } from './canned-activations.js';
export type { CannedActivation, CannedReplica } from './canned-activations.js';
export { FakeAdminApi, buildSignedBundle, scopePolicy, writeEs256Key } from './data-plane.js';
export type { BuiltBundle, CatalogResource } from './data-plane.js';
