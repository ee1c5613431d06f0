/**
 * The baseline the issue asks us to beat: one interactive database transaction per transfer —
 * lock both accounts (ordered), check the balance, update both rows, insert the transfer, commit.
 * It writes the same tables in the same shape, so `ledger verify` checks it too. Bench only.
 */
import type { Database } from '../src/platform/db/database.ts';

export interface NaivePayment {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
}

export async function naiveTransfer(db: Database, payment: NaivePayment): Promise<'created' | 'exceeds_credits'> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    const locked = await client.query<{ id: string; flags: number; debits_posted: bigint; debits_pending: bigint; credits_posted: bigint }>(
      'select id, flags, debits_posted, debits_pending, credits_posted from accounts where id = any($1::uuid[]) order by id for update',
      [[payment.debitAccountId, payment.creditAccountId]]);
    const debit = locked.rows.find((row) => row.id === payment.debitAccountId);
    if (debit === undefined) throw new Error('unknown debit account');
    if ((debit.flags & 1) === 1 && debit.debits_posted + debit.debits_pending + payment.amount > debit.credits_posted) {
      await client.query('rollback');
      return 'exceeds_credits';
    }
    await client.query('update accounts set debits_posted = debits_posted + $2 where id = $1', [payment.debitAccountId, payment.amount]);
    await client.query('update accounts set credits_posted = credits_posted + $2 where id = $1', [payment.creditAccountId, payment.amount]);
    await client.query(
      `insert into transfers (id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout_seconds, reference, created_at)
       values ($1, $2, $3, $4, null, 392, 2, 0, 0, null, now())`,
      [payment.id, payment.debitAccountId, payment.creditAccountId, payment.amount]);
    await client.query('commit');
    return 'created';
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
