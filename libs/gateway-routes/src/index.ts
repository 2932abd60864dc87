/**
 * The Gateway's route configuration (`CARACAL_GATEWAY_ROUTES`): path prefixes
 * mapped to an upstream, the protected resource and its operations by method,
 * and longest-prefix routing. The Gateway enforces it; the region's canary
 * agent reads the same document to turn expected cases into probes.
 */
export {
  RouteTable,
  routesSchema,
  splitTarget,
  unsafePathReason,
  upstreamPath,
} from './route-table.js';
export type { Operation, Route, RouteResource } from './route-table.js';
