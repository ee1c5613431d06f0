/**
 * 「現金チャージ」 at the till (issue 19): the till scans the customer's top-up code, the clerk types the cash
 * amount, the till shows the masked customer and the amount, the clerk confirms. The wallet decides and moves
 * the money (`wallet/cash/cash-top-ups.ts`); this side says where (the terminal's store and merchant, the
 * merchant's cash-owed account) and applies the till's own rule: **a till does not top up its own staff's wallet
 * on one clerk's word.** A customer whose verified e-mail is an active staff member's of this merchant needs a
 * second clerk — another staff member of the merchant — to approve with their e-mail and authenticator code.
 */
import { verifiedContacts } from '../../identity/contacts/contacts.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { ensureCashOwedAccount } from '../../merchants/payout-accounts.ts';
import { approveBySecondClerk, staffUserWithEmail, type StaffDeps, type StaffRequestContext } from '../../merchants/staff.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import {
  cashTopUpsOfTerminal, findCashTopUp, jstDate, previewCashTopUp, takeCashTopUp, voidCashTopUp, type CashApproval, type CashDeps, type CashPlace, type CashTopUpRow,
} from '../../wallet/cash/cash-top-ups.ts';
import { placeName } from '../place-name.ts';
import type { TerminalPrincipal } from './access.ts';

export interface SecondClerk { readonly email: string; readonly totpCode: string }

export interface TillCashDeps {
  readonly cash: CashDeps;
  readonly staff: StaffDeps;
  readonly ledger: Ledger;
}

export interface TillCash {
  preview(principal: TerminalPrincipal, code: string): Promise<{ maskedName: string; maxAmountMinor: bigint; minAmountMinor: bigint; secondClerkRequired: boolean }>;
  take(principal: TerminalPrincipal, input: { tillTopUpId: string; code: string; amountMinor: bigint; secondClerk: SecondClerk | null }, context: StaffRequestContext): Promise<{ topUp: CashTopUpRow; replayed: boolean }>;
  void(principal: TerminalPrincipal, tillTopUpId: string, reason: string): Promise<CashTopUpRow>;
  get(principal: TerminalPrincipal, tillTopUpId: string): Promise<CashTopUpRow>;
  today(principal: TerminalPrincipal): Promise<CashTopUpRow[]>;
}

export const TILL_CASH_LIST_MAX = 200;

/** The staff member of the till's merchant this customer is (by verified e-mail), or null. */
async function linkedStaff(db: Queryable, merchantId: string, customerId: string): Promise<string | null> {
  const emails = (await verifiedContacts(db, customerId)).filter((c) => c.kind === 'email').map((c) => c.value);
  return staffUserWithEmail(db, merchantId, emails);
}

export function createTillCash(deps: TillCashDeps): TillCash {
  const db = deps.cash.wallet.db;
  const cashOwed = new Map<string, string>();
  const placeOf = async (principal: TerminalPrincipal): Promise<CashPlace> => {
    let account = cashOwed.get(principal.merchantId);
    if (account === undefined) {
      account = await ensureCashOwedAccount(deps.ledger, principal.merchantId);
      cashOwed.set(principal.merchantId, account);
    }
    return { merchantId: principal.merchantId, storeId: principal.storeId, terminalId: principal.terminalId, cashOwedAccountId: account, placeName: placeName(principal.merchantName, principal.storeName) };
  };
  return {
    async preview(principal, code) {
      const preview = await previewCashTopUp(deps.cash, code);
      const staff = await linkedStaff(db.pool, principal.merchantId, preview.customerId);
      return { maskedName: preview.maskedName, maxAmountMinor: preview.maxAmountMinor, minAmountMinor: preview.minAmountMinor, secondClerkRequired: staff !== null };
    },
    async take(principal, input, context) {
      const approve = async (customerId: string): Promise<CashApproval> => {
        const staff = await linkedStaff(db.pool, principal.merchantId, customerId);
        if (staff === null) return { linkedStaffUserId: null, approvedByUserId: null };
        if (input.secondClerk === null) throw new KobanError('second_clerk_required', { extensions: { secondClerkRequired: true } });
        const approver = await approveBySecondClerk(deps.staff, principal.merchantId, { ...input.secondClerk, action: 'cash_top_up', notUserId: staff }, context);
        return { linkedStaffUserId: staff, approvedByUserId: approver };
      };
      return takeCashTopUp(deps.cash, await placeOf(principal), { tillTopUpId: input.tillTopUpId, code: input.code, amountMinor: input.amountMinor, approve });
    },
    async void(principal, tillTopUpId, reason) {
      return voidCashTopUp(deps.cash, await placeOf(principal), tillTopUpId, reason);
    },
    get: (principal, tillTopUpId) => findCashTopUp(deps.cash, principal.terminalId, tillTopUpId),
    today: (principal) => cashTopUpsOfTerminal(db.pool, principal.terminalId, jstDate(deps.cash.now()), TILL_CASH_LIST_MAX),
  };
}
