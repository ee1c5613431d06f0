// Every string of the money screens exists in Japanese and English: a missing key would show the customer
// "money.pay.title" instead of a heading. Static keys are read from the sources; keys built at run time
// (one per kind, state, status) are listed with every value the API can answer.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HISTORY_KINDS } from '../../src/wallet/history.ts';
import { moneyMessages } from '../../web/wallet/money/messages.ts';
import { accountMessagesFromSource } from './wallet-money-support.ts';

// The wallet merges these two (web/wallet/messages.ts, which imports JSX and so is not loaded here).
const messages = { ...accountMessagesFromSource(), ...moneyMessages };

const WEB = path.resolve(import.meta.dirname, '../../web/wallet');
const SOURCES = [
  ...readdirSync(path.join(WEB, 'money')).map((f) => path.join(WEB, 'money', f)),
  path.join(WEB, 'common/live-feed.ts'), path.join(WEB, 'common/camera-scanner.tsx'),
].filter((file) => /\.tsx?$/.test(file));

const DYNAMIC: Record<string, readonly string[]> = {
  'money.kind': HISTORY_KINDS,
  'money.state': ['active', 'frozen', 'closed'],
  'money.topUp.status': ['processing', 'requires_action', 'completed', 'failed'],
  'money.source': ['card', 'bank'],
  // Problems the money screens can meet, so the customer never reads the server's English title.
  'problem': ['wallet_frozen', 'insufficient_funds', 'payment_code_expired', 'payment_refused_by_risk', 'dynamic_qr_expired', 'dynamic_qr_unavailable',
    'dynamic_qr_not_found', 'qr_payload_invalid', 'strong_confirmation_required', 'top_up_limit_exceeded', 'card_rejected', 'pin_wrong', 'pin_required',
    'step_up_required', 'risk_denied', 'risk_held_for_review', 'service_switched_off', 'recovery_cooldown'],
};

describe('wallet money messages', () => {
  it('every key used by the money screens has Japanese and English text', () => {
    const used = new Set<string>();
    for (const file of SOURCES) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/\bt\('([^']+)'/g)) used.add(match[1]!);
      for (const match of source.matchAll(/\bja\('([^']+)'/g)) used.add(match[1]!);
    }
    for (const [prefix, values] of Object.entries(DYNAMIC)) for (const value of values) used.add(`${prefix}.${value}`);
    expect(used.size).toBeGreaterThan(100);
    const missing = [...used].filter((key) => messages[key] === undefined);
    expect(missing).toEqual([]);
    const blank = [...used].filter((key) => messages[key] !== undefined && (messages[key]!.ja.trim() === '' || messages[key]!.en.trim() === ''));
    expect(blank).toEqual([]);
  });
});
