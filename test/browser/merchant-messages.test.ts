/** Every merchant portal string exists in Japanese and English: a missing key would show the key itself to a shop owner. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MERCHANT_ROLES } from '../../src/merchants/staff-roles.ts';
import { messages } from '../../web/merchant/messages.ts';

const PORTAL_DIR = path.resolve(import.meta.dirname, '../../web/merchant');

function portalSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return portalSources(full);
    return entry.name.endsWith('.tsx') ? [readFileSync(full, 'utf8')] : [];
  });
}

describe('merchant portal messages', () => {
  it('every literal t() key used by a portal screen has both languages', () => {
    const used = new Set<string>();
    for (const source of portalSources(PORTAL_DIR)) for (const match of source.matchAll(/\bt\(\s*'([a-zA-Z][\w.]*)'/g)) used.add(match[1]!);
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((key) => messages[key]?.ja === undefined || messages[key]?.en === undefined || messages[key]?.ja === '' || messages[key]?.en === '')).toEqual([]);
  });

  it('keys built from server values cover every value the server sends', () => {
    const built = [
      ...MERCHANT_ROLES.map((role) => `role.${role}`),
      ...['active', 'disabled'].map((status) => `staff.status.${status}`),
      ...['koban', 'paypay'].map((format) => `dev.format.${format}`),
      ...['nameJa', 'nameLatin', 'corporateNumber', 'representative', 'address', 'contactEmail', 'contactPhone', 'categoryCode', 'volume'].map((field) => `apply.${field}`),
    ];
    expect(built.filter((key) => messages[key] === undefined)).toEqual([]);
  });
});
