/** API roles, weakest first: each role may do everything the ones before it may. */
export const roles = ['viewer', 'author', 'deployer', 'admin'] as const;

/** One API role. */
export type Role = (typeof roles)[number];

/** What a route demands: a minimum role, or nothing at all (`public`). */
export type Access = Role | 'public';

/** True when a caller holding `held` may use a route that needs `needed`. */
export function roleAllows(held: Role, needed: Access): boolean {
  return needed === 'public' || roles.indexOf(held) >= roles.indexOf(needed);
}

/** True when `value` names a role. */
export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}
