/**
 * Tells the customer about every finished top-up at once (7pay victims noticed by e-mail): an in-app feed
 * entry and an e-mail to the verified address, written in the transaction that finishes the top-up, so a
 * top-up is announced exactly once.
 */
import { verifiedContacts } from '../identity/contacts/contacts.ts';
import { addFeedEntry, enqueueMessage } from '../notifications/outbox.ts';
import type { Queryable } from '../platform/db/database.ts';
import type { FundingSourceRow } from './funding-sources.ts';
import type { TopUpRow } from './top-ups.ts';

function describeSource(source: FundingSourceRow | null): string {
  if (source === null) return 'your funding source';
  if (source.kind === 'card') return `${(source.card_brand ?? 'card').toUpperCase()} card ending ${source.card_last4 ?? '????'}`;
  return `bank account ending ${source.bank_account_last4 ?? '????'}`;
}

function yen(amountMinor: bigint): string {
  return `¥${amountMinor.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

export async function announceTopUp(db: Queryable, topUp: TopUpRow, source: FundingSourceRow | null): Promise<void> {
  const done = topUp.status === 'completed';
  const title = done ? `Top-up of ${yen(topUp.amount_minor)} completed` : `Top-up of ${yen(topUp.amount_minor)} failed`;
  const what = done
    ? `${yen(topUp.amount_minor)} from your ${describeSource(source)} was added to your Koban balance.`
    : `The top-up of ${yen(topUp.amount_minor)} from your ${describeSource(source)} did not go through; your balance did not change.`;
  const body = `${what}\n\nTime: ${(topUp.finished_at ?? new Date()).toISOString()}\nReference: ${topUp.id}\n\nIf this was not you, contact Koban support at once.`;
  await addFeedEntry(db, topUp.customer_id, { kind: done ? 'top_up_completed' : 'top_up_failed', title, body, contestable: done });
  for (const contact of await verifiedContacts(db, topUp.customer_id)) {
    if (contact.kind !== 'email') continue;
    await enqueueMessage(db, { channel: 'email', recipient: contact.value, kind: done ? 'top_up_completed' : 'top_up_failed', subject: `Koban: ${title}`, body });
  }
}
