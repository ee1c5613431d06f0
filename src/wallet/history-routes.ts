/**
 * The wallet home's reads: balance and state (`/v1/wallet/summary`) and the history of every yen moved
 * (`/v1/wallet/history`, one entry `/v1/wallet/history/{transferId}`). Session-authenticated reads; thin
 * adapters over history.ts and the ledger.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../http/app.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { availableBalance } from '../ledger/types.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { ensureCustomerWallet } from './customer-wallets.ts';
import { registerWalletBalanceRoutes } from './balance-routes.ts';
import { HISTORY_PAGE_MAX, historyItemView, historyReceiptView, readHistory, readHistoryItem, type PaymentFactsPort } from './history.ts';

const tags = ['wallet history'];
const Kind = Type.Union([Type.Literal('top_up'), Type.Literal('payment'), Type.Literal('refund'), Type.Literal('compensation'), Type.Literal('other')]);
const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const HistoryItemOut = Type.Object({
  transferId: Type.String(), kind: Kind, direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  amount: Type.String(), at: Type.String(), status: Type.String(),
  merchantName: Nullable(Type.String()), storeName: Nullable(Type.String()), placeName: Nullable(Type.String()), orderDescription: Nullable(Type.String()),
  receiptNumber: Type.String(),
  paymentId: Nullable(Type.String()), refundId: Nullable(Type.String()), topUpId: Nullable(Type.String()),
  fundingSource: Type.Union([Type.Object({ kind: Type.String(), brand: Nullable(Type.String()), last4: Nullable(Type.String()) }), Type.Null()]),
  reference: Nullable(Type.String()),
});
const Linked = Type.Object({ transferId: Type.String(), receiptNumber: Type.String(), amount: Type.String() });
const ReceiptOut = Type.Intersect([HistoryItemOut, Type.Object({
  links: Type.Union([Type.Object({
    original: Type.Union([Linked, Type.Null()]),
    returns: Type.Array(Type.Intersect([Linked, Type.Object({ kind: Type.Union([Type.Literal('refund'), Type.Literal('cancel')]), at: Type.String() })])),
    net: Type.String(),
  }), Type.Null()]),
})]);

export interface WalletHistoryRouteDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly payments: PaymentFactsPort;
  /** Identity's session guard: the signed-in customer, or a 401 problem. */
  readonly guard: (request: FastifyRequest) => Promise<{ customerId: string }>;
}

export function registerWalletHistoryRoutes(app: App, deps: WalletHistoryRouteDeps): void {
  registerWalletBalanceRoutes(app, deps);
  const walletOf = async (request: FastifyRequest) => {
    const { customerId } = await deps.guard(request);
    return { customerId, walletAccountId: await ensureCustomerWallet(deps.db, deps.ledger, customerId) };
  };

  app.get('/v1/wallet/summary', {
    schema: { tags, summary: 'Balance and state of the signed-in customer\'s wallet (frozen: paying is refused, money already in it stays)',
      response: { 200: Type.Object({ balance: Type.String(), available: Type.String(), status: Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]) }) } },
  }, async (request) => {
    const { walletAccountId } = await walletOf(request);
    const account = await deps.ledger.getAccount(walletAccountId);
    if (account === null) throw new KobanError('wallet_not_found');
    return { balance: (account.creditsPosted - account.debitsPosted).toString(), available: availableBalance(account).toString(), status: account.status };
  });

  app.get('/v1/wallet/history', {
    schema: { tags, summary: 'Every yen moved in or out of the wallet, newest first (filters: kind, JST days from/to inclusive; cursor pages)',
      querystring: Type.Object({
        kind: Type.Optional(Kind), from: Type.Optional(Day), to: Type.Optional(Day),
        cursor: Type.Optional(Type.String({ maxLength: 64 })), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(HistoryItemOut), nextCursor: Nullable(Type.String()) }) } },
  }, async (request) => {
    const wallet = await walletOf(request);
    const { limit, ...filters } = request.query;
    const pageSize = limit === undefined ? undefined : Number(limit);
    if (pageSize !== undefined && pageSize > HISTORY_PAGE_MAX) throw new KobanError('validation_failed', { errors: [{ pointer: '/querystring/limit', message: `must be at most ${HISTORY_PAGE_MAX}` }] });
    const page = await readHistory({ db: deps.db.pool, ledger: deps.ledger, payments: deps.payments }, { ...wallet, ...filters, limit: pageSize });
    return { items: page.items.map(historyItemView), nextCursor: page.nextCursor };
  });

  app.get('/v1/wallet/history/:transferId', {
    schema: { tags, summary: 'One movement of the wallet with everything known about it: its receipt, with a payment\'s refunds and net amount', params: Type.Object({ transferId: Type.String({ maxLength: 64 }) }), response: { 200: ReceiptOut } },
  }, async (request) => {
    const wallet = await walletOf(request);
    return historyReceiptView(await readHistoryItem({ db: deps.db.pool, ledger: deps.ledger, payments: deps.payments }, wallet.walletAccountId, wallet.customerId, request.params.transferId));
  });
}
