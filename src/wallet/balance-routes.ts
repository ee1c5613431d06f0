/**
 * The customer's two balances (issue 19): `GET /v1/wallet/balances` (prepaid and funds-transfer, each with
 * what it may do, and the spend order) and `PUT /v1/wallet/spend-order`. Thin adapters over balances.ts.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Database } from '../platform/db/database.ts';
import { FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR, mayLeaveAs, type BalanceKind } from './balance-kinds.ts';
import { readCustomerBalances, setSpendOrder, type BalanceView } from './balances.ts';
import { ensureCustomerWallet } from './customer-wallets.ts';

const tags = ['wallet balances'];
const SpendOrderSchema = Type.Union([Type.Literal('prepaid_first'), Type.Literal('funds_transfer_first')]);
const BalanceOut = Type.Object({
  kind: Type.Union([Type.Literal('prepaid'), Type.Literal('funds_transfer')]),
  balance: Type.String(), available: Type.String(), status: Type.String(),
  canPay: Type.Boolean(), canSend: Type.Boolean(), canWithdraw: Type.Boolean(),
});
const BalancesOut = Type.Object({
  total: Type.String(),
  prepaid: BalanceOut,
  fundsTransfer: Type.Union([BalanceOut, Type.Null()]),
  identityVerified: Type.Boolean(),
  spendOrder: SpendOrderSchema,
  fundsTransferPerTransferMax: Type.String(),
});

export interface WalletBalanceRouteDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly guard: (request: FastifyRequest) => Promise<{ customerId: string }>;
}

export function registerWalletBalanceRoutes(app: App, deps: WalletBalanceRouteDeps): void {
  const balancesOf = async (customerId: string) => {
    await ensureCustomerWallet(deps.db, deps.ledger, customerId);
    const balances = await readCustomerBalances(deps.db, deps.ledger, customerId);
    if (balances.prepaid === null) throw new Error('the wallet was just ensured');
    return {
      total: (balances.prepaid.balanceMinor + (balances.fundsTransfer?.balanceMinor ?? 0n)).toString(),
      prepaid: balanceOut(balances.prepaid),
      fundsTransfer: balances.fundsTransfer === null ? null : balanceOut(balances.fundsTransfer),
      identityVerified: balances.verified, spendOrder: balances.spendOrder,
      fundsTransferPerTransferMax: FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR.toString(),
    };
  };

  app.get('/v1/wallet/balances', {
    schema: { tags, summary: 'The prepaid balance (spend only) and, once verified, the funds-transfer balance (spend, send, withdraw)', response: { 200: BalancesOut } },
  }, async (request) => balancesOf((await deps.guard(request)).customerId));

  app.put('/v1/wallet/spend-order', {
    schema: { tags, summary: 'Which balance pays first: prepaid_first (default) or funds_transfer_first',
      body: Type.Object({ spendOrder: SpendOrderSchema }, { additionalProperties: false }), response: { 200: BalancesOut } },
  }, async (request) => {
    const { customerId } = await deps.guard(request);
    await setSpendOrder(deps.db, customerId, request.body.spendOrder);
    return balancesOf(customerId);
  });
}

function balanceOut(balance: BalanceView) {
  const kind: BalanceKind = balance.kind;
  return {
    kind, balance: balance.balanceMinor.toString(), available: balance.availableMinor.toString(), status: balance.status,
    canPay: mayLeaveAs(kind, 'payment'), canSend: mayLeaveAs(kind, 'send'), canWithdraw: mayLeaveAs(kind, 'withdrawal'),
  };
}
