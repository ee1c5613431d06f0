// Every string of the account screens exists in Japanese and English: a missing key would show the
// customer "signIn.submit" instead of a label. Static keys are read from the sources; keys built at
// run time (one per action, method, page…) are listed with their possible values.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { messages } from '../../web/wallet/messages.ts';

const WEB = path.resolve(import.meta.dirname, '../../web/wallet');
// The account folder, and the two shared pieces it owns in common/ (the rest of common/ is the money screens').
const SOURCES = [...readdirSync(path.join(WEB, 'account')).map((f) => path.join(WEB, 'account', f)), path.join(WEB, 'common/step-up.tsx'), path.join(WEB, 'common/nav.tsx')]
  .filter((file) => /\.tsx?$/.test(file));

const DYNAMIC: Record<string, readonly string[]> = {
  'stepUp.action': ['top_up', 'add_funding_source', 'link_social', 'unlink_social', 'change_email', 'change_phone', 'change_password', 'change_factors', 'raise_limits', 'send', 'withdraw'],
  'stepUp.method': ['passkey', 'totp', 'sms'],
  'secondFactor.method': ['passkey', 'totp', 'sms', 'recovery_code'],
  'settings.page': ['passkeys', 'totp', 'recovery-codes', 'sessions', 'pin', 'contacts', 'password', 'social'],
  'settings.pin': ['not_set', 'set', 'locked'],
  'signUp.verify': ['email', 'phone'],
  'signUp.code': ['email', 'phone'],
  'contacts.new': ['email', 'phone'],
  'contacts.code': ['email', 'phone'],
};

describe('wallet account messages', () => {
  it('every key used by the account screens, the step-up dialog and the nav has Japanese and English text', () => {
    const used = new Set<string>();
    for (const file of SOURCES) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/\bt\('([^']+)'/g)) used.add(match[1]!);
      for (const match of source.matchAll(/key: '([a-zA-Z.]+)'/g)) used.add(match[1]!);
      for (const match of source.matchAll(/'((?:pin|settings)\.[a-zA-Z]+)'\s*[:)]/g)) used.add(match[1]!);
    }
    for (const [prefix, values] of Object.entries(DYNAMIC)) for (const value of values) used.add(`${prefix}.${value}`);
    expect(used.size).toBeGreaterThan(150);
    const missing = [...used].filter((key) => messages[key] === undefined);
    expect(missing).toEqual([]);
    const blank = [...used].filter((key) => messages[key] !== undefined && (messages[key]!.ja.trim() === '' || messages[key]!.en.trim() === ''));
    expect(blank).toEqual([]);
  });
});
