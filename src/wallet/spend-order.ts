/**
 * Which balances pay, and how much from each: one pure decision (issue 19). The payments pipeline's
 * "choose accounts" step calls it (through `spending.ts`) and turns each leg into one ledger transfer of one
 * linked chain, so the legs move together or not at all.
 *
 * Order: points always first (they are not money, and they expire: `promo/`), then prepaid, then
 * funds-transfer (the default: the balance that can do less is used up first, so what stays is what can still
 * be sent or withdrawn), or funds-transfer before prepaid when the customer chose so.
 */
import { assert } from '../platform/assert.ts';
import type { BalanceKind } from './balance-kinds.ts';

export const SPEND_ORDERS = ['prepaid_first', 'funds_transfer_first'] as const;
export type SpendOrder = (typeof SPEND_ORDERS)[number];
export const DEFAULT_SPEND_ORDER: SpendOrder = 'prepaid_first';

/** What can pay: the two balances the law defines, and points (cashback of campaigns, never cash). */
export type SpendKind = BalanceKind | 'points';

export interface SpendableBalance {
  readonly kind: SpendKind;
  readonly accountId: string;
  /** What can be spent now: posted credits less posted and held debits. */
  readonly availableMinor: bigint;
}

export interface SpendLeg {
  readonly kind: SpendKind;
  readonly accountId: string;
  readonly amountMinor: bigint;
}

/** The balances in the order they pay. */
export function orderedForSpending(balances: readonly SpendableBalance[], order: SpendOrder): SpendableBalance[] {
  const first: BalanceKind = order === 'funds_transfer_first' ? 'funds_transfer' : 'prepaid';
  const money = balances.filter((b) => b.kind !== 'points');
  return [...balances.filter((b) => b.kind === 'points'), ...money.filter((b) => b.kind === first), ...money.filter((b) => b.kind !== first)];
}

/**
 * The legs that pay `amountMinor`: each balance in order gives what it has until the amount is covered.
 * When all of them together are short, the whole amount is asked of the first balance, so the ledger refuses
 * it (`exceeds_credits`, the customer hears "insufficient funds") and nothing moves.
 */
export function planSpend(balances: readonly SpendableBalance[], amountMinor: bigint, order: SpendOrder): SpendLeg[] {
  assert(amountMinor > 0n, 'a spend is positive');
  assert(balances.length > 0, 'there is a balance to spend from');
  assert(new Set(balances.map((b) => b.kind)).size === balances.length, 'one balance per kind');
  const ordered = orderedForSpending(balances, order);
  const first = ordered[0];
  assert(first !== undefined, 'an ordered balance');
  const total = ordered.reduce((sum, b) => sum + (b.availableMinor > 0n ? b.availableMinor : 0n), 0n);
  if (total < amountMinor) return [{ kind: first.kind, accountId: first.accountId, amountMinor }];
  const legs: SpendLeg[] = [];
  let rest = amountMinor;
  for (const balance of ordered) {
    if (rest === 0n) break;
    const take = balance.availableMinor < rest ? balance.availableMinor : rest;
    if (take <= 0n) continue;
    legs.push({ kind: balance.kind, accountId: balance.accountId, amountMinor: take });
    rest -= take;
  }
  assert(rest === 0n && legs.reduce((sum, leg) => sum + leg.amountMinor, 0n) === amountMinor, 'the legs add up to the spend');
  return legs;
}
