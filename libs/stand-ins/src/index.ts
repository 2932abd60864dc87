/**
 * In-test stand-ins for service boundaries (real servers on loopback, fed by the
 * test), and helpers that build real OPA bundles for them to serve. Only spec
 * files import this lib.
 */
export {
  FakeAdminApi,
  FakeCoordinator,
  buildSignedBundle,
  scopePolicy,
  writeEs256Key,
} from './data-plane.js';
export type { BuiltBundle, CatalogResource, TestBinding } from './data-plane.js';
