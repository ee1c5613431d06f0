/** Customers with funded wallets for payments tests. */
import { randomUUID } from 'node:crypto';
import { requireTransferCreated, type Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';

let fundingAccount: string | null = null;

async function funding(ledger: Ledger): Promise<string> {
  if (fundingAccount === null) {
    const id = uuidv7();
    await ledger.createAccounts([{ id, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: AccountFlags.none, reference: 'test-card-clearing' }]);
    fundingAccount = id;
  }
  return fundingAccount;
}

export async function createCustomer(db: Database, ledger: Ledger, balanceMinor: bigint): Promise<CustomerContext> {
  const customerId = randomUUID();
  const walletAccountId = await ensureCustomerWallet(db, ledger, customerId);
  if (balanceMinor > 0n) {
    requireTransferCreated(await ledger.createTransfers([{
      id: uuidv7(), debitAccountId: await funding(ledger), creditAccountId: walletAccountId, amount: balanceMinor,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test top-up',
    }]));
  }
  return { customerId, walletAccountId, deviceId: `device-${randomUUID()}` };
}

export async function balanceOf(ledger: Ledger, accountId: string): Promise<bigint> {
  const account = await ledger.getAccount(accountId);
  if (account === null) throw new Error(`no account ${accountId}`);
  return account.creditsPosted - account.debitsPosted;
}
