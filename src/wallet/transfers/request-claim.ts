/** Marks a money request paid by a send, inside the send's own transaction (send.ts). */
import { assert } from '../../platform/assert.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';

/** Called in the send's transaction (send.ts) for a send that pays a request: claims the request for it. */
export async function claimRequestForPayment(client: Queryable, requestId: string, payerId: string, transferId: string, amountMinor: bigint): Promise<void> {
  const row = (await client.query<{ id: string; status: string; amount_minor: bigint; payer_id: string | null }>('select * from money_requests where id = $1 for update', [requestId])).rows[0];
  if (row === undefined) throw new KobanError('money_request_not_found');
  if (row.status !== 'open') throw new KobanError('money_request_not_open');
  assert(row.amount_minor === amountMinor, 'a request is paid for exactly its amount');
  if (row.payer_id !== null && row.payer_id !== payerId) throw new KobanError('money_request_not_found');
  const updated = (await client.query<{ id: string; status: string; amount_minor: bigint; payer_id: string | null }>(`update money_requests set status = 'paid', paid_transfer_id = $2 where id = $1 returning *`, [requestId, transferId])).rows[0];
  assert(updated !== undefined, 'a locked open request is paid once');
}

