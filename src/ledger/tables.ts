import type { Generated } from 'kysely';

export interface LedgerTables {
  ledgers: { id: number; asset: string; asset_scale: number; name: string };
  account_codes: { code: number; name: string; description: string };
  accounts: {
    id: string;
    ledger: number;
    code: number;
    flags: number;
    status: 'active' | 'frozen' | 'closed';
    debits_pending: bigint;
    debits_posted: bigint;
    credits_pending: bigint;
    credits_posted: bigint;
    reference: string | null;
    created_at: Generated<Date>;
  };
  transfers: {
    id: string;
    seq: Generated<bigint>;
    debit_account_id: string;
    credit_account_id: string;
    amount: bigint;
    pending_id: string | null;
    ledger: number;
    code: number;
    flags: number;
    timeout_seconds: number;
    reference: string | null;
    created_at: Date;
  };
  pending_transfers: { id: string; status: 'pending' | 'posted' | 'voided' | 'expired'; expires_at: Date; resolved_at: Date | null };
  transfer_failures: { id: string; result: string; created_at: Generated<Date> };
}
