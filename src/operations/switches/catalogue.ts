/**
 * The kill switches Koban has. Names are dotted: a switch is obeyed together with its ancestors, so
 * `sign_in` off stops every sign-in method while `sign_in.social.line` off stops only LINE. Switching
 * one never changes another's stored state: balances stay, other methods keep working, holds resolve.
 */
export interface SwitchDefinition {
  readonly name: string;
  readonly description: string;
}

export const SWITCH_CATALOGUE: readonly SwitchDefinition[] = [
  { name: 'registrations', description: 'new customer registrations' },
  { name: 'sign_in', description: 'every customer sign-in method' },
  { name: 'sign_in.password', description: 'sign-in with a password' },
  { name: 'sign_in.passkey', description: 'sign-in with a passkey' },
  { name: 'sign_in.social', description: 'sign-in with any social provider (and linking one)' },
  { name: 'funding', description: 'every funding rail: adding funding sources and topping up from them' },
  { name: 'funding.card', description: 'the card rail: adding cards and card top-ups' },
  { name: 'funding.bank', description: 'the bank rail: linking bank accounts and bank top-ups' },
  { name: 'top_ups', description: 'every top-up, whatever the rail' },
  { name: 'top_ups.cash', description: 'cash top-ups at the register (codes already shown stop working at the till)' },
  { name: 'top_ups.auto', description: 'automatic top-ups when the balance falls below the customer\'s threshold' },
  { name: 'payments', description: 'customer payments at merchants' },
  { name: 'refunds', description: 'merchant refunds to customers' },
  { name: 'transfers', description: 'sending money between customers and paying money requests (sends already made can still be accepted, declined and returned)' },
  { name: 'withdrawals', description: 'new withdrawals to bank accounts (withdrawals already asked of the bank still settle)' },
  { name: 'sms', description: 'every code sent by SMS (sign-up, sign-in, step-up, recovery, contact change): refused at once, other factors keep working' },
  { name: 'payment_code_minting', description: 'issuing new payment codes (codes already shown expire on their own)' },
];

/** One per social provider id (the identity configuration's ids): `sign_in.social.<id>`. */
const SOCIAL_SWITCH = /^sign_in\.social\.[a-z][a-z0-9-]{0,31}$/;
const KNOWN = new Set(SWITCH_CATALOGUE.map((definition) => definition.name));

export function isKnownSwitch(name: string): boolean {
  return KNOWN.has(name) || SOCIAL_SWITCH.test(name);
}

/** The switch and every ancestor that is itself a switch, outermost first. */
export function switchLineage(name: string): string[] {
  const parts = name.split('.');
  return parts.map((_part, index) => parts.slice(0, index + 1).join('.')).filter(isKnownSwitch);
}

export function socialProviderSwitch(providerId: string): string {
  return `sign_in.social.${providerId}`;
}
