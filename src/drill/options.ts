/**
 * What a drill run is given: where Koban is, whose credentials to use, how big the crowd and the attack
 * are, and for how long. Defaults fit `npm start` on one machine (demo operator, demo merchant key, dev CA).
 */
import { DEMO } from '../demo/seed.ts';
import { DEMO_PAYMENTS } from '../demo/demo-payments.ts';
import { DEMO_OPERATOR_PASSWORD, DEMO_OPERATOR_TOTP_SECRET } from '../operations/operators/demo.ts';
import type { AttackClass } from './journal.ts';
import type { OperatorCredentials } from './ops.ts';
import type { Store } from './till.ts';

export interface DrillOptions {
  readonly url: string;
  readonly opaUrl: string;
  /** PEM of the CA the merchant API's certificate chains to (npm start: .koban/tls/ca.pem). */
  readonly caPem: string | null;
  readonly operator: OperatorCredentials;
  readonly merchant: { readonly apiKey: string; readonly apiSecret: string; readonly stores: readonly Store[] };
  readonly seed: number;
  /** The attack classes to run side by side, each against its own `victims` (issue 13). */
  readonly attacks: readonly AttackClass[];
  readonly durationSec: number;
  readonly ordinaryCustomers: number;
  readonly victims: number;
  /** Accounts on the leaked list that do not exist at Koban. */
  readonly unknownAccounts: number;
  /** Wrong passwords on the leaked list for each victim (besides the real, reused one). */
  readonly wrongPasswordsPerVictim: number;
  /** How many /24 networks the stuffing comes from (127.66.0.0/24, 127.66.1.0/24, …). */
  readonly attackerNetworks: number;
  readonly attackerConcurrency: number;
  /** The attacker also holds each victim's phone (SMS codes) and charge PIN, as if no second factor existed (7pay). */
  readonly assumeSessions: boolean;
  /** A simulated operator freezes the account and revokes the sessions of each new case this many seconds after it opens. */
  readonly respondAfterSec: number | null;
  readonly stolenTopUpsPerAccount: number;
  readonly stolenTopUpMinor: number;
  readonly spendChunkMinor: number;
  readonly ordinaryBalanceMinor: number;
  readonly victimBalanceMinor: number;
  /**
   * The attack starts at least this long after the victims' own set-up top-ups, so those do not count in
   * the per-minute top-up rule against the attacker (7pay's victims had topped up days before).
   */
  readonly victimQuietSec: number;
  /**
   * Every drill customer is made this many days old after set-up (devices, networks, usual stores, a spending
   * history: POST /dev/drill/established-customers); 0 keeps them newcomers, minutes old.
   */
  readonly establishedDays: number;
  /**
   * Share of drill customers (ordinary and victims alike, spread evenly) who register a synced passkey in set-up and
   * pay with it (issue 13: a confirmation malware on the phone cannot give); 0: nobody has one, as before passkeys.
   */
  readonly passkeyShare: number;
  /** Mean seconds between two actions of one ordinary customer. */
  readonly ordinaryIntervalSec: number;
  readonly allowProduction: boolean;
  /** Progress lines (stderr in the CLI); null for silence. */
  readonly log: ((line: string) => void) | null;
}

export const DRILL_DEFAULTS = {
  url: 'http://127.0.0.1:3000',
  opaUrl: 'https://127.0.0.1:8443',
  seed: 7,
  // 100 ordinary customers acting every ~8 s for the warm-up and four minutes of attack: well over the
  // 3,000 ordinary actions issue 13's false-positive goal is measured on.
  durationSec: 240,
  ordinaryCustomers: 100,
  victims: 8,
  unknownAccounts: 24,
  wrongPasswordsPerVictim: 2,
  attackerNetworks: 4,
  attackerConcurrency: 3,
  stolenTopUpsPerAccount: 5,
  stolenTopUpMinor: 1_000,
  spendChunkMinor: 5_000,
  ordinaryBalanceMinor: 20_000,
  victimBalanceMinor: 30_000,
  ordinaryIntervalSec: 8,
  victimQuietSec: 75,
  establishedDays: 400,
  passkeyShare: 1,
} as const;

export const DEMO_STORES: readonly Store[] = DEMO.merchant.stores.map((store) => ({ storeId: store.id, terminalId: store.terminals[0]?.id ?? '', name: store.name }));

export function defaultOptions(overrides: Partial<DrillOptions> = {}): DrillOptions {
  return {
    ...DRILL_DEFAULTS,
    caPem: null,
    operator: { email: 'demo-admin@koban.test', password: DEMO_OPERATOR_PASSWORD, totpSecret: DEMO_OPERATOR_TOTP_SECRET, passkeyFile: '.koban/drill-operator-passkey.json' },
    merchant: { apiKey: DEMO_PAYMENTS.credential.apiKey, apiSecret: DEMO_PAYMENTS.credential.apiSecret, stores: DEMO_STORES },
    attacks: ['7pay'],
    assumeSessions: false,
    respondAfterSec: null,
    allowProduction: false,
    log: null,
    ...overrides,
  };
}
