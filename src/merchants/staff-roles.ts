/**
 * Merchant staff roles, in one table: which role may do what in the merchant portal. Every portal route
 * names one permission and the server checks it on every request (src/portal/gate.ts); a route that
 * names none is refused. Owners do everything; managers run stores, tills and refunds; clerks see the
 * day's sales; developers hold the API keys and webhooks.
 */
export const MERCHANT_ROLES = ['owner', 'manager', 'clerk', 'developer'] as const;
export type MerchantRole = (typeof MERCHANT_ROLES)[number];

const ALL: readonly MerchantRole[] = MERCHANT_ROLES;

export const MERCHANT_PERMISSIONS = {
  'session.self': ALL,
  'stores.read': ALL,
  'stores.manage': ['owner', 'manager'],
  'terminals.read': ['owner', 'manager', 'clerk'],
  'terminals.manage': ['owner', 'manager'],
  'sales.read': ALL,
  // Money goes back to a customer: not the clerk on their own, not the developer.
  'sales.refund': ['owner', 'manager'],
  'money.read': ['owner', 'manager'],
  'developers.read': ['owner', 'developer'],
  'developers.manage': ['owner', 'developer'],
  'staff.manage': ['owner'],
} as const satisfies Record<string, readonly MerchantRole[]>;

export type MerchantPermission = keyof typeof MERCHANT_PERMISSIONS;

export function merchantCan(role: MerchantRole, permission: MerchantPermission): boolean {
  return (MERCHANT_PERMISSIONS[permission] as readonly MerchantRole[]).includes(role);
}

export function isMerchantPermission(value: unknown): value is MerchantPermission {
  return typeof value === 'string' && Object.hasOwn(MERCHANT_PERMISSIONS, value);
}

export function isMerchantRole(value: unknown): value is MerchantRole {
  return typeof value === 'string' && (MERCHANT_ROLES as readonly string[]).includes(value);
}
