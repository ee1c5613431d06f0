// The sandbox bank's documented test accounts (README.md): behaviour is chosen by the account number's last four
// digits, so any bank and branch code works and the outcome is always the same for the same input.
export type BankFailureCode = 'insufficient_funds' | 'account_not_found';

export interface AccountBehaviour {
  // Mandate creation fails: the bank has no such account.
  mandateFailure: BankFailureCode | null;
  // Every debit under an active mandate fails.
  debitFailure: BankFailureCode | null;
  // Payouts are accepted, then fail at settlement.
  payoutFailure: BankFailureCode | null;
}

const ORDINARY: AccountBehaviour = { mandateFailure: null, debitFailure: null, payoutFailure: null };

const TEST_ACCOUNT_SUFFIXES: ReadonlyMap<string, AccountBehaviour> = new Map([
  ['0000', { ...ORDINARY, debitFailure: 'insufficient_funds' }],
  ['8888', { ...ORDINARY, payoutFailure: 'account_not_found' }],
  ['9999', { ...ORDINARY, mandateFailure: 'account_not_found' }],
]);

export function accountBehaviour(accountNumber: string): AccountBehaviour {
  return TEST_ACCOUNT_SUFFIXES.get(accountNumber.slice(-4)) ?? ORDINARY;
}
