/**
 * The customer's history: every yen that moved in or out of their wallet, newest first, as the ledger
 * records it (the statement of the wallet account is the source of truth: what is listed here is what
 * moved), each entry explained by the row behind it: the top-up and its funding source (this module),
 * the payment, refund or cancel with merchant and store (payments, through a port), a compensation.
 * Filters: kind and a date range (JST calendar days); pages by the statement's opaque cursor.
 */
import type { Ledger } from '../ledger/ledger.ts';
import type { StatementEntry } from '../ledger/statement.ts';
import { TransferCodes } from '../ledger/types.ts';
import type { Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { receiptNumber } from '../platform/receipt-number.ts';

export const HISTORY_KINDS = ['top_up', 'payment', 'refund', 'compensation', 'other'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];
export const HISTORY_PAGE_MAX = 100;

const NAMED_CODES: Record<Exclude<HistoryKind, 'other'>, number> = {
  top_up: TransferCodes.topUp, payment: TransferCodes.payment, refund: TransferCodes.refund, compensation: TransferCodes.compensation,
};
const OTHER_CODES = Object.values(TransferCodes).filter((code) => !Object.values(NAMED_CODES).includes(code));

/** Merchant-side facts of payment, refund and cancel transfers (payments/history-facts.ts). */
export interface PaymentFactsPort {
  byReference(customerId: string, references: readonly string[]): Promise<Map<string, {
    paymentId: string; refundId: string | null; paymentKind: string; status: string; merchantName: string; storeName: string | null; orderDescription: string | null; placeName: string;
  }>>;
  /** A payment of this customer and the money that came back from it (refunds, a cancel); null if none. */
  links(customerId: string, paymentId: string): Promise<{
    paymentTransferId: string | null; amountMinor: bigint; netMinor: bigint;
    returns: ReadonlyArray<{ kind: 'refund' | 'cancel'; id: string; transferId: string; amountMinor: bigint; at: Date }>;
  } | null>;
}

export interface HistoryDeps {
  readonly db: Queryable;
  readonly ledger: Ledger;
  readonly payments: PaymentFactsPort;
}

export interface HistoryItem {
  readonly transferId: string;
  readonly kind: HistoryKind;
  readonly direction: 'in' | 'out';
  readonly amountMinor: bigint;
  readonly at: Date;
  /** completed for money that moved; a payment's own status (REFUNDED, CANCELED…) when it has one. */
  readonly status: string;
  readonly merchantName: string | null;
  readonly storeName: string | null;
  /** Merchant and store said once ("Koban Mart Shibuya"), for a payment, refund or cancel. */
  readonly placeName: string | null;
  readonly orderDescription: string | null;
  /** Short, readable number of the receipt (platform/receipt-number.ts): of the payment, refund, top-up, else the transfer. */
  readonly receiptNumber: string;
  readonly paymentId: string | null;
  readonly refundId: string | null;
  readonly topUpId: string | null;
  readonly fundingSource: { readonly kind: 'card' | 'bank'; readonly brand: string | null; readonly last4: string | null } | null;
  readonly reference: string | null;
}

/** The receipt of one movement: the item, and for a payment the money that came back and what is left. */
export interface HistoryReceipt extends HistoryItem {
  readonly links: {
    /** The payment this refund or cancel returned money from (its history entry). */
    readonly original: { readonly transferId: string; readonly receiptNumber: string; readonly amountMinor: bigint } | null;
    /** Refunds and the cancel of this payment (or of the payment this refund belongs to), oldest first. */
    readonly returns: ReadonlyArray<{ readonly kind: 'refund' | 'cancel'; readonly transferId: string; readonly receiptNumber: string; readonly amountMinor: bigint; readonly at: Date }>;
    /** The payment's amount less what came back. */
    readonly netMinor: bigint;
  } | null;
}

export interface HistoryQuery {
  readonly walletAccountId: string;
  readonly customerId: string;
  readonly kind?: HistoryKind | undefined;
  /** JST calendar days, YYYY-MM-DD, both inclusive. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly cursor?: string | undefined;
  readonly limit?: number | undefined;
}

export function kindOfCode(code: number): HistoryKind {
  for (const [kind, named] of Object.entries(NAMED_CODES)) if (named === code) return kind as HistoryKind;
  return 'other';
}

/** Midnight JST of a YYYY-MM-DD day (Japan has no daylight saving time). */
export function jstDayStart(day: string, pointer: string): Date {
  const date = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(day) ? new Date(`${day}T00:00:00+09:00`) : new Date(Number.NaN);
  // 2025-02-30 parses to March 2nd: the day must read back as given.
  if (Number.isNaN(date.getTime()) || new Date(date.getTime() + 9 * 3600_000).toISOString().slice(0, 10) !== day) {
    throw new KobanError('validation_failed', { errors: [{ pointer, message: 'must be a date YYYY-MM-DD' }] });
  }
  return date;
}

export async function readHistory(deps: HistoryDeps, query: HistoryQuery): Promise<{ items: HistoryItem[]; nextCursor: string | null }> {
  const from = query.from === undefined ? null : jstDayStart(query.from, '/query/from');
  const until = query.to === undefined ? null : new Date(jstDayStart(query.to, '/query/to').getTime() + 24 * 3600_000);
  if (from !== null && until !== null && from >= until) throw new KobanError('validation_failed', { errors: [{ pointer: '/query/to', message: 'must not be before from' }] });
  const codes = query.kind === undefined ? null : query.kind === 'other' ? OTHER_CODES : [NAMED_CODES[query.kind]];
  const statement = await deps.ledger.statement({ accountId: query.walletAccountId, limit: query.limit ?? 30, cursor: query.cursor ?? null, codes, from, until });
  // The statement pages by the ledger's sequence, which is cached per connection (not strictly time-ordered
  // across connections); within a page the customer sees time order. Every transfer still appears once.
  const items = (await explain(deps, query.customerId, statement.entries)).sort((a, b) => b.at.getTime() - a.at.getTime());
  return { items, nextCursor: statement.nextCursor };
}

/** One transfer of this wallet, explained, with its payment's refunds and net amount; another account's transfer is "not found". */
export async function readHistoryItem(deps: HistoryDeps, walletAccountId: string, customerId: string, transferId: string): Promise<HistoryReceipt> {
  const found = isUuid(transferId) ? await deps.ledger.lookupTransfer(transferId) : null;
  if (found?.state !== 'created') throw new KobanError('transfer_not_found');
  const transfer = found.transfer;
  if (transfer.debitAccountId !== walletAccountId && transfer.creditAccountId !== walletAccountId) throw new KobanError('transfer_not_found');
  const side = transfer.debitAccountId === walletAccountId ? 'debit' : 'credit';
  const [item] = await explain(deps, customerId, [{ transfer, side, holdStatus: null }]);
  if (item === undefined) throw new KobanError('transfer_not_found');
  return { ...item, links: await receiptLinks(deps, customerId, item) };
}

async function receiptLinks(deps: HistoryDeps, customerId: string, item: HistoryItem): Promise<HistoryReceipt['links']> {
  if (item.paymentId === null) return null;
  const links = await deps.payments.links(customerId, item.paymentId);
  if (links === null) return null;
  const isPayment = item.kind === 'payment';
  return {
    original: isPayment || links.paymentTransferId === null ? null : { transferId: links.paymentTransferId, receiptNumber: receiptNumber(item.paymentId), amountMinor: links.amountMinor },
    returns: links.returns.map((back) => ({ kind: back.kind, transferId: back.transferId, receiptNumber: receiptNumber(back.kind === 'refund' ? back.id : back.transferId), amountMinor: back.amountMinor, at: back.at })),
    netMinor: links.netMinor,
  };
}

async function explain(deps: HistoryDeps, customerId: string, entries: readonly StatementEntry[]): Promise<HistoryItem[]> {
  const references = entries.map((entry) => entry.transfer.reference).filter((reference): reference is string => reference !== null);
  const [payments, topUps] = await Promise.all([deps.payments.byReference(customerId, references), topUpFacts(deps.db, customerId, references)]);
  return entries.map(({ transfer, side }) => {
    const reference = transfer.reference;
    const payment = reference === null ? undefined : payments.get(reference);
    const topUp = reference === null ? undefined : topUps.get(reference);
    return {
      transferId: transfer.id, kind: kindOfCode(transfer.code), direction: side === 'credit' ? 'in' : 'out', amountMinor: transfer.amount, at: transfer.createdAt,
      status: payment?.status ?? 'completed',
      merchantName: payment?.merchantName ?? null, storeName: payment?.storeName ?? null, placeName: payment?.placeName ?? null, orderDescription: payment?.orderDescription ?? null,
      receiptNumber: receiptNumber(receiptSource(reference, payment, topUp) ?? transfer.id),
      paymentId: payment?.paymentId ?? null, refundId: payment?.refundId ?? null,
      topUpId: topUp?.topUpId ?? null, fundingSource: topUp?.fundingSource ?? null,
      // Only references that name nothing above (compensation batches, corrections) are shown as such.
      reference: payment === undefined && topUp === undefined ? reference : null,
    } satisfies HistoryItem;
  });
}

/** Whose id numbers the receipt: the refund, the payment, the top-up; a cancel (and anything else) its own transfer. */
function receiptSource(reference: string | null, payment: { paymentId: string; refundId: string | null } | undefined, topUp: { topUpId: string } | undefined): string | null {
  if (reference?.startsWith('cancel:') === true) return null;
  return payment?.refundId ?? payment?.paymentId ?? topUp?.topUpId ?? null;
}

async function topUpFacts(db: Queryable, customerId: string, references: readonly string[]) {
  const ids = references.map((reference) => /^top-up:(.+)$/.exec(reference)?.[1]).filter((id): id is string => id !== undefined && isUuid(id));
  const facts = new Map<string, { topUpId: string; fundingSource: { kind: 'card' | 'bank'; brand: string | null; last4: string | null } }>();
  if (ids.length === 0) return facts;
  const rows = await db.query<{ id: string; kind: 'card' | 'bank'; card_brand: string | null; card_last4: string | null; bank_account_last4: string | null }>(
    `select t.id, f.kind, f.card_brand, f.card_last4, f.bank_account_last4 from top_ups t join funding_sources f on f.id = t.funding_source_id
     where t.id = any($1::uuid[]) and t.customer_id = $2`, [ids, customerId]);
  for (const row of rows.rows) {
    facts.set(`top-up:${row.id}`, { topUpId: row.id, fundingSource: { kind: row.kind, brand: row.card_brand, last4: row.kind === 'card' ? row.card_last4 : row.bank_account_last4 } });
  }
  return facts;
}

export function historyItemView(item: HistoryItem) {
  return {
    transferId: item.transferId, kind: item.kind, direction: item.direction, amount: item.amountMinor.toString(), at: item.at.toISOString(), status: item.status,
    merchantName: item.merchantName, storeName: item.storeName, placeName: item.placeName, orderDescription: item.orderDescription, receiptNumber: item.receiptNumber,
    paymentId: item.paymentId, refundId: item.refundId, topUpId: item.topUpId, fundingSource: item.fundingSource, reference: item.reference,
  };
}

export function historyReceiptView(receipt: HistoryReceipt) {
  const links = receipt.links;
  return {
    ...historyItemView(receipt),
    links: links === null ? null : {
      original: links.original === null ? null : { transferId: links.original.transferId, receiptNumber: links.original.receiptNumber, amount: links.original.amountMinor.toString() },
      returns: links.returns.map((back) => ({ kind: back.kind, transferId: back.transferId, receiptNumber: back.receiptNumber, amount: back.amountMinor.toString(), at: back.at.toISOString() })),
      net: links.netMinor.toString(),
    },
  };
}
