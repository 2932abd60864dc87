import { Controller } from '@nestjs/common';

import { MethodNotAllowedError } from '../http/http-errors.js';
import { Route } from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';

const allow = ['GET', 'HEAD'] as const;

function refuse(): never {
  throw new MethodNotAllowedError(
    'versions and bundles are immutable: create a new version instead',
    allow,
  );
}

/**
 * Answers every attempt to change a policy version, policy-set version or
 * bundle with 405 and `Allow: GET, HEAD`. The database refuses such changes
 * too (triggers); this makes the API say so plainly instead of 404.
 */
@Controller()
export class ImmutableVersionsController {
  @Route(routes.putPolicyVersion, routes.putPolicySetVersion, routes.putBundle)
  put(): never {
    return refuse();
  }

  @Route(routes.patchPolicyVersion, routes.patchPolicySetVersion, routes.patchBundle)
  patch(): never {
    return refuse();
  }

  @Route(routes.deletePolicyVersion, routes.deletePolicySetVersion, routes.deleteBundle)
  delete(): never {
    return refuse();
  }
}
