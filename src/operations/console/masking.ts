/**
 * What a console reader may see of a customer's personal data. Roles without
 * `customers.read_unmasked` (support, finance) see contacts, IP addresses and user agents masked:
 * enough to confirm "is this the caller?" with the customer on the phone, not enough to harvest a list.
 * Masking happens on the server: a masked value never reaches the browser.
 */
import { maskContact } from '../../identity/contacts/normalize.ts';
import type { OperatorRole } from '../operators/permissions.ts';
import { can } from '../operators/permissions.ts';

export interface Masker {
  readonly masked: boolean;
  contact(kind: 'email' | 'phone', value: string): string;
  ip(value: string | null): string | null;
  userAgent(value: string | null): string | null;
}

export function maskerFor(role: OperatorRole): Masker {
  const masked = !can(role, 'customers.read_unmasked');
  if (!masked) return { masked, contact: (_kind, value) => value, ip: (value) => value, userAgent: (value) => value };
  return {
    masked,
    contact: (kind, value) => maskContact(kind, value),
    ip: (value) => (value === null ? null : maskIp(value)),
    // The browser family is useful to support ("you signed in from Chrome?"); the full string fingerprints.
    userAgent: (value) => (value === null ? null : value.split(/[\s/]/)[0]?.slice(0, 40) ?? null),
  };
}

/** 203.0.113.7 → 203.0.113.•; IPv6 keeps its first two groups. */
export function maskIp(value: string): string {
  const v4 = value.startsWith('::ffff:') ? value.slice(7) : value;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(v4)) return `${v4.split('.').slice(0, 3).join('.')}.•`;
  return `${value.split(':').slice(0, 2).join(':')}:•`;
}
