// The regulator's figures (issue 19) recomputed from the ledger at any instant, on PostgreSQL, through the
// operator API: outstanding prepaid and funds-transfer balances, the prepaid security deposit, the guarantee.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { Koban } from '../../src/koban.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import { expectLedgerVerifies } from './support.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import type { Database } from '../../src/platform/db/database.ts';

let koban: Koban;
let db: Database;
let close: () => Promise<void>;
beforeAll(async () => {
  const started = await startTestKoban();
  koban = started.koban;
  db = started.db;
  close = started.close;
});
afterAll(async () => {
  if (db !== undefined) await expectLedgerVerifies(db);
  await close?.();
});

async function move(debit: string, credit: string, amount: bigint, code: number = TransferCodes.topUp): Promise<void> {
  requireTransferCreated(await koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: debit, creditAccountId: credit, amount, pendingId: null,
    ledger: Ledgers.JPY, code, flags: 0, timeoutSeconds: 0, reference: 'regulatory test' }]));
}

async function dbNow(): Promise<Date> {
  const at = (await db.pool.query<{ at: Date }>('select clock_timestamp() as at')).rows[0]?.at;
  if (at === undefined) throw new Error('no clock');
  return at;
}

/**
 * An instant after every transfer so far and before every later one. The ledger stamps transfers to the
 * millisecond, so the database clock is read until it has left this millisecond (bounded; no timing asserted).
 */
async function instantBetween(): Promise<string> {
  const at = await dbNow();
  for (let reads = 0; reads < 10_000 && (await dbNow()).getTime() <= at.getTime(); reads++);
  return at.toISOString();
}

describe('outstanding balances and the security deposit', () => {
  it('are recomputed from the transfers for any instant; the deposit starts above ¥10M of unused prepaid balance', async () => {
    const finance = opsRequest(koban, await signInAs(koban, 'finance'));
    const support = opsRequest(koban, await signInAs(koban, 'support'));
    const a = await ensureCustomerWallet(db, koban.ledger, uuidv7());
    const bCustomer = uuidv7();
    const b = await ensureCustomerWallet(db, koban.ledger, bCustomer);
    const bFundsTransfer = await markCustomerVerified(db, koban.ledger, bCustomer, 'test:ekyc', new Date());
    await move(PLATFORM_ACCOUNTS.cardClearing, a, 6_000_000n);
    await move(PLATFORM_ACCOUNTS.cardClearing, b, 4_000_000n);
    await move(PLATFORM_ACCOUNTS.bankClearing, bFundsTransfer, 700_000n);
    const before = await instantBetween();
    await move(PLATFORM_ACCOUNTS.cardClearing, a, 3_000_000n);
    await move(b, PLATFORM_ACCOUNTS.feeRevenue, 1_000n, TransferCodes.payment);

    const past = await finance('GET', `/v1/ops/regulatory/outstanding?at=${encodeURIComponent(before)}`);
    expect(past.statusCode, past.body).toBe(200);
    expect(past.json()).toMatchObject({
      prepaid: { outstanding: '10000000', accounts: 2, securityDepositRequired: '0' },
      fundsTransfer: { outstanding: '700000', accounts: 1, guaranteeRequired: '700000' },
    });
    const today = (await finance('GET', '/v1/ops/regulatory/outstanding')).json();
    expect(today).toMatchObject({ prepaid: { outstanding: '12999000', securityDepositRequired: '6499500' }, fundsTransfer: { outstanding: '700000' } });
    const base = (await finance('GET', '/v1/ops/regulatory/outstanding?baseDate=2020-03-31')).json();
    expect(base).toMatchObject({ at: '2020-03-31T14:59:59.999Z', filingDeadline: '2020-05-31', prepaid: { outstanding: '0', securityDepositRequired: '0' } });

    expect((await finance('GET', '/v1/ops/regulatory/outstanding?baseDate=2020-06-30')).statusCode).toBe(400);
    expect((await support('GET', '/v1/ops/regulatory/outstanding')).statusCode).toBe(403);
  });
});
