/**
 * Least privilege, in one table: which operator role may do what. Every operator route names one
 * permission and the server checks it on every request (routes.ts); a route that names none is refused.
 * Money-moving actions are split so that no single role both proposes and approves alone, and the
 * four-eyes rule (proposals.ts) adds "not the same person" on top.
 */
export const OPERATOR_ROLES = ['support', 'risk_analyst', 'finance', 'administrator'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

const ALL: readonly OperatorRole[] = OPERATOR_ROLES;
const RISK: readonly OperatorRole[] = ['risk_analyst', 'administrator'];

export const PERMISSIONS = {
  'session.self': ALL,
  // The console's read models (src/operations/console).
  'dashboard.read': ALL,
  'operators.directory': ALL,
  'customers.read': ALL,
  // Contacts, IP addresses and user agents in full; everyone else sees them masked.
  'customers.read_unmasked': RISK,
  'merchants.read': ALL,
  // Issue 16/13: deciding merchant applications, and containing a merchant (suspend, store suspend, payout hold).
  'merchants.review': ['support', 'risk_analyst', 'administrator'],
  'merchants.contain': RISK,
  // A one-time code that turns a browser into a store's till (a new tablet, a cleared browser).
  'terminals.activate': ['support', 'administrator'],
  // A till locked after guessing customer codes (issue 14): lifted once the store is called back.
  'terminals.unlock': ['support', 'risk_analyst', 'administrator'],
  'cases.open': ['support', 'risk_analyst', 'administrator'],
  'audit.read': ['risk_analyst', 'administrator'],
  // Customers' sign-ins, factor changes and locks, forged callbacks (issue 14); masked for support.
  'security_events.read': ['support', 'risk_analyst', 'administrator'],
  'switches.read': ALL,
  'switches.change': RISK,
  'operators.read': ['administrator'],
  'operators.manage': ['administrator'],
  // Four eyes on a colleague's break-glass sign-in (issue 14): any operator who can see risk, never the requester.
  'operators.break_glass_approve': RISK,
  'risk.rules.read': ['support', 'risk_analyst', 'administrator'],
  'risk.rules.change': RISK,
  'risk.events.read': ['support', 'risk_analyst', 'administrator'],
  'risk.lists.change': RISK,
  'cases.read': ALL,
  'cases.work': ['support', 'risk_analyst', 'administrator'],
  'cases.close': RISK,
  // Support can contain (freeze) at once; releasing money again takes a risk analyst.
  'accounts.freeze': ['support', 'risk_analyst', 'administrator'],
  'accounts.unfreeze': RISK,
  // Identity verifications the eKYC provider sent to review (issue 19): they show the customer's identity data.
  'identity.review': RISK,
  // What Koban owes its customers and the security it must hold (issue 19).
  'regulatory.read': ['finance', 'administrator'],
  // Points and cashback campaigns (issue 19): their budgets are the platform's money.
  'promotions.read': ['support', 'risk_analyst', 'finance', 'administrator'],
  'promotions.manage': ['finance', 'administrator'],
  // Abolition of the prepaid instrument (Art. 20): an administrator proposes, another approves (four eyes).
  'abolition.propose': ['administrator'],
  'abolition.approve': ['administrator'],
  'customers.force_reset': ['support', 'risk_analyst', 'administrator'],
  'customers.revoke_sessions': ['support', 'risk_analyst', 'administrator'],
  'proposals.read': ['risk_analyst', 'finance', 'administrator'],
  'compensation.propose': ['risk_analyst', 'finance', 'administrator'],
  'compensation.approve': ['finance', 'administrator'],
  'compensation.execute': ['finance', 'administrator'],
  'compensation.export': ['finance', 'administrator'],
  'incident.propose': RISK,
  'incident.approve': ['administrator'],
} as const satisfies Record<string, readonly OperatorRole[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: OperatorRole, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly OperatorRole[]).includes(role);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (OPERATOR_ROLES as readonly string[]).includes(value);
}
