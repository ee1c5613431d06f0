/**
 * The fault run's own seed, before any fault: the risk rules off (the harness tests the money path under
 * faults, not the risk engine, and its few customers pay far faster than any real one), customers signed up
 * through the customer API with a charge PIN (codes from the development outbox), their wallets funded
 * through the internal ledger API, and the top-up customer's card verified once by 3-D Secure so its later
 * top-ups need no challenge. What the load generator needs is written to `setup.json`.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '../../src/risk/rules/index.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { addCard, setPin, signUp, stepUp, topUp, type Person } from '../../src/drill/customer-api.ts';
import type { Browser } from '../../src/drill/http.ts';
import type { Outbox } from '../../src/drill/outbox.ts';
import { DEV_SANDBOX_KEYS } from '../../src/demo/sandboxes.ts';
import { createTransport, newBrowser, type Transport } from '../../src/drill/http.ts';
import { createOutbox } from '../../src/drill/outbox.ts';
import pg from 'pg';

/** Approves without 3-D Secure unless asked; one challenged top-up marks it verified (sandbox/acquirer/README.md). */
export const TOP_UP_CARD = '4242424242424242';
export const SEED_BALANCE_MINOR = 400_000;
const FIRST_TOP_UP_MINOR = 1_000;

export interface SeededCustomer {
  readonly name: string;
  readonly person: Person;
  readonly walletAccountId: string;
  /** The loopback address this customer's phone uses (each its own /24, as separate households). */
  readonly address: string;
  readonly cookies: Array<[string, string]>;
  readonly csrf: string | null;
  readonly fundingSourceId: string | null;
  /** A confirmed direct-debit mandate at the sandbox bank (the top-up customer only). */
  readonly bankSourceId: string | null;
}

export interface SetupFile {
  readonly seed: number;
  readonly baseUrl: string;
  readonly opaUrl: string;
  readonly caPemPath: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly storeId: string;
  readonly terminalIds: readonly string[];
  readonly customers: readonly SeededCustomer[];
  readonly logPath: string;
  /** Share of till payments sent a second time 0–25 ms after the first (0 turns the eager duplicates off). */
  readonly eagerShare: number;
}

/** Every risk rule off, recorded as an operator would record it (with a reason), before Koban starts. */
export async function disableRiskRules(directUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query('begin');
    for (const rule of DEFAULT_RULES) {
      const latest = await client.query<{ version: number }>('select coalesce(max(version), 0) as version from risk_rule_settings where rule_id = $1', [rule.id]);
      await client.query('insert into risk_rule_settings (rule_id, version, enabled, action, params, reason, changed_by) values ($1, $2, false, $3, $4, $5, $6)',
        [rule.id, (latest.rows[0]?.version ?? 0) + 1, rule.defaults.action, JSON.stringify(rule.serialize(rule.defaults.params)),
          'fault harness: a few synthetic customers pay hundreds of times a minute; the run tests the money path, not risk', 'operator:fault-harness']);
    }
    await client.query('update risk_ruleset set version = version + 1');
    await client.query('commit');
  } finally {
    await client.end();
  }
}

export async function seedCustomers(input: {
  baseUrl: string; directUrl: string; ledgerToken: string; bankUrl: string; names: readonly string[]; topUpCustomer: string; runTag: string; log: (line: string) => void;
}): Promise<SeededCustomer[]> {
  const transport = createTransport();
  const outbox = createOutbox(newBrowser(transport, input.baseUrl, null));
  const db = new pg.Client({ connectionString: input.directUrl });
  await db.connect();
  try {
    const seeded: SeededCustomer[] = [];
    for (const [index, name] of input.names.entries()) {
      const address = `127.0.${10 + index}.2`;
      // No device key: the harness re-creates a customer's browser from its cookies for every request, through the
      // fault proxy; the sessions stay unbound (allowed outside production). Device binding has its own tests.
      const home = newBrowser(transport, input.baseUrl, address, false);
      const person: Person = {
        email: `faults-${input.runTag}-${name}@faults.koban.example`, phone: `+8190800${String(index + 1).padStart(5, '0')}`,
        password: `faults ${randomBytes(6).toString('hex')} harbour lamp`, pin: '480271', customerId: '',
      };
      must(`sign-up of ${name}`, await signUp(home, outbox, person));
      must(`charge PIN of ${name}`, await setPin(home, outbox, person));
      // The wallet account is opened on the customer's first wallet request.
      const summary = await home.request('GET', '/v1/wallet/summary');
      if (summary.status !== 200) throw new Error(`wallet summary of ${name}: ${summary.status} ${summary.text}`);
      const wallet = await db.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [person.customerId]);
      const walletAccountId = wallet.rows[0]?.account_id;
      if (walletAccountId === undefined) throw new Error(`no wallet for ${name} after sign-up`);
      await fund(transport, input.baseUrl, input.ledgerToken, walletAccountId);
      let fundingSourceId: string | null = null;
      let bankSourceId: string | null = null;
      if (name === input.topUpCustomer) {
        fundingSourceId = must(`card of ${name}`, await addCard(home, outbox, person.phone, TOP_UP_CARD, 'FAULT HARNESS'));
        must(`first (3-D Secure) top-up of ${name}`, await topUp(home, outbox, transport, person, { fundingSourceId, amountMinor: FIRST_TOP_UP_MINOR, passThreeDSecure: true }));
        bankSourceId = await addBankAccount(home, outbox, person, db, transport, input.bankUrl);
      }
      seeded.push({ name, person, walletAccountId, address, cookies: [...home.cookies], csrf: home.csrf, fundingSourceId, bankSourceId });
      input.log(`  customer ${name}: ${person.customerId}, wallet ${walletAccountId}`);
    }
    return seeded;
  } finally {
    await db.end();
    transport.close();
  }
}

/**
 * A direct-debit mandate: the bank sends its code to the holder; the sandbox's test endpoint stands in for the
 * holder reading it (as test/wallet does), and the customer relays it to Koban.
 */
async function addBankAccount(home: Browser, outbox: Outbox, person: Person, db: pg.Client, transport: Transport, bankUrl: string): Promise<string> {
  const accountNumber = '7654321';
  const grant = must('bank step-up', await stepUp(home, outbox, person.phone, 'add_funding_source', { kind: 'bank', last4: accountNumber.slice(-4) }));
  const added = await home.request('POST', '/v1/customer/funding-sources/bank-accounts',
    { bankCode: '0001', branchCode: '123', accountType: 'ordinary', accountNumber, holderNameKana: 'ﾌｫﾙﾄ ﾊｰﾈｽ' }, { 'x-step-up-grant': grant });
  if (added.status !== 201) throw new Error(`bank account not added: ${added.status} ${added.text}`);
  const id = (added.body as { fundingSourceId: string }).fundingSourceId;
  const mandate = await db.query<{ bank_mandate_id: string }>('select bank_mandate_id from funding_sources where id = $1', [id]);
  const otp = await transport.send({ method: 'GET', url: new URL(`/v1/test/mandates/${mandate.rows[0]?.bank_mandate_id}/otp`, bankUrl).toString(), headers: { authorization: `Bearer ${DEV_SANDBOX_KEYS.bankTestKey}` } });
  const code = (otp.body as { code?: string; otp?: string } | null);
  const confirmed = await home.request('POST', `/v1/customer/funding-sources/${id}/confirm`, { code: code?.code ?? code?.otp ?? '' });
  if (confirmed.status !== 200) throw new Error(`mandate not confirmed: ${confirmed.status} ${confirmed.text}`);
  return id;
}

/** The seed balance, from the card clearing account as the demo data funds its wallets. */
async function fund(transport: Transport, baseUrl: string, token: string, walletAccountId: string): Promise<void> {
  const response = await transport.send({
    method: 'POST', url: new URL('/v1/ledger/transfers', baseUrl).toString(), headers: { authorization: `Bearer ${token}` },
    body: { transfers: [{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: walletAccountId, amount: String(SEED_BALANCE_MINOR), ledger: Ledgers.JPY, code: TransferCodes.topUp, reference: 'fault harness seed' }] },
  });
  if (response.status !== 200) throw new Error(`funding ${walletAccountId} failed: ${response.status} ${response.text}`);
}

function must<T>(what: string, outcome: { ok: true; value: T } | { ok: false; code: string }): T {
  if (!outcome.ok) throw new Error(`fault harness set-up: ${what} was refused (${outcome.code})`);
  return outcome.value;
}
