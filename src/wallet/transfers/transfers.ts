/**
 * Sending, requesting, splitting and withdrawing money (issue 19): the wallet builds this with its own deps,
 * the injected clock and identity's gates, mounts its routes and runs its leased job
 * (`wallet.transfers`: return unclaimed sends after their deadline, re-ask the bank about open withdrawals).
 */
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import type { BackgroundJobs } from '../../platform/leases.ts';
import type { WalletSession } from '../identity-port.ts';
import type { TransfersDeps } from './common.ts';
import { handleOf, resolveRecipient } from './handles.ts';
import { moneyAllowances } from './money-limits.ts';
import * as requests from './requests.ts';
import * as send from './send.ts';
import * as withdrawals from './withdrawals.ts';

export type Transfers = ReturnType<typeof createTransfers>;

export function createTransfers(deps: TransfersDeps) {
  const db = deps.wallet.db.pool;
  deps.wallet.payoutListener.advance = (id) => withdrawals.advanceWithdrawal(deps, id);
  return {
    deps,
    handleOf: (customerId: string) => handleOf(db, customerId),
    resolveRecipient: (to: string) => resolveRecipient(db, to),
    send: (session: WalletSession, request: send.SendRequest, origin: RequestOrigin | null) => send.sendMoney(deps, session, request, origin),
    accept: (customerId: string, id: string) => send.acceptTransfer(deps, customerId, id),
    decline: (customerId: string, id: string) => send.declineTransfer(deps, customerId, id),
    list: (customerId: string) => send.listTransfers(db, customerId),
    view: (row: send.P2pTransferRow, viewerId: string) => send.transferView(db, row, viewerId),
    returnDue: () => send.returnDueTransfers(deps),
    createRequest: (customerId: string, amountMinor: bigint, message: string) => requests.createMoneyRequest(deps, customerId, amountMinor, message),
    requestForPayer: (token: string, customerId: string) => requests.requestForPayer(db, token, customerId),
    payRequest: (session: WalletSession, token: string, input: { idempotencyKey: string; grant: string | undefined; pin: string | undefined }, origin: RequestOrigin | null) =>
      requests.payMoneyRequest(deps, session, token, input, origin),
    cancelRequest: (customerId: string, id: string) => requests.cancelMoneyRequest(deps, customerId, id),
    listRequests: (customerId: string) => requests.listMoneyRequests(db, customerId),
    requestView: (row: requests.MoneyRequestRow) => requests.requestView(db, row, deps.wallet.publicUrl),
    createSplit: (customerId: string, input: requests.SplitInput) => requests.createSplit(deps, customerId, input),
    splitStatus: (customerId: string, id: string) => requests.splitStatus(db, customerId, id),
    remindSplit: (customerId: string, id: string) => requests.remindSplit(deps, customerId, id),
    withdraw: (session: WalletSession, request: withdrawals.WithdrawalRequest, origin: RequestOrigin | null) => withdrawals.startWithdrawal(deps, session, request, origin),
    getWithdrawal: (customerId: string, id: string) => withdrawals.ownWithdrawal(db, customerId, id),
    listWithdrawals: (customerId: string) => withdrawals.listWithdrawals(db, customerId),
    reconcileWithdrawals: () => withdrawals.reconcileWithdrawals(deps),
    allowances: (customerId: string) => moneyAllowances(deps.wallet, customerId, deps.clock()),
    startBackgroundWork(jobs: BackgroundJobs): void {
      jobs.run('wallet.transfers', deps.wallet.config.transfers.jobIntervalMs, async () => {
        await send.returnDueTransfers(deps);
        await withdrawals.reconcileWithdrawals(deps);
      });
    },
  };
}
