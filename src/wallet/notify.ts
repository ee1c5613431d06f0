/**
 * Tells the customer about every finished top-up at once (7pay victims noticed by e-mail): an in-app feed
 * entry and an e-mail to the verified address, written in the transaction that finishes the top-up, so a
 * top-up is announced exactly once.
 */
import { verifiedContacts } from '../identity/contacts/contacts.ts';
import { addFeedEntry, enqueueMessage } from '../notifications/outbox.ts';
import { customerLanguage } from '../identity/language.ts';
import type { Queryable } from '../platform/db/database.ts';
import { timeIn, yenIn, type Language } from '../platform/language.ts';
import { receiptNumber } from '../platform/receipt-number.ts';
import type { FundingSourceRow } from './funding-sources.ts';
import type { TopUpRow } from './top-ups.ts';

function describeSource(source: FundingSourceRow | null, language: Language): string {
  const last4 = (source?.kind === 'card' ? source.card_last4 : source?.bank_account_last4) ?? '????';
  if (source === null) return language === 'ja' ? 'お支払い元' : 'your funding source';
  if (source.kind === 'card') return language === 'ja' ? `${(source.card_brand ?? 'カード').toUpperCase()} カード（末尾 ${last4}）` : `${(source.card_brand ?? 'card').toUpperCase()} card ending ${last4}`;
  return language === 'ja' ? `銀行口座（末尾 ${last4}）` : `bank account ending ${last4}`;
}

/** Title and body of a finished top-up in the customer's language. */
export function topUpText(language: Language, topUp: Pick<TopUpRow, 'status' | 'amount_minor' | 'finished_at' | 'id'>, source: FundingSourceRow | null): { title: string; body: string } {
  const done = topUp.status === 'completed';
  const amount = yenIn(language, topUp.amount_minor);
  const at = timeIn(language, topUp.finished_at ?? new Date());
  const from = describeSource(source, language);
  if (language === 'ja') {
    const title = done ? `${amount}のチャージが完了しました` : `${amount}のチャージができませんでした`;
    const what = done ? `${from}から${amount}を Koban 残高にチャージしました。` : `${from}からの${amount}のチャージは完了しませんでした。残高は変わっていません。`;
    return { title, body: `${what}\n\n日時: ${at}\nレシート番号: ${receiptNumber(topUp.id)}\n\n心当たりがない場合は、すぐに Koban サポートへご連絡ください。` };
  }
  const title = done ? `Top-up of ${amount} completed` : `Top-up of ${amount} failed`;
  const what = done ? `${amount} from your ${from} was added to your Koban balance.` : `The top-up of ${amount} from your ${from} did not go through; your balance did not change.`;
  return { title, body: `${what}\n\nTime: ${at}\nReceipt no.: ${receiptNumber(topUp.id)}\n\nIf this was not you, contact Koban support at once.` };
}

export async function announceTopUp(db: Queryable, topUp: TopUpRow, source: FundingSourceRow | null): Promise<void> {
  const done = topUp.status === 'completed';
  const language = await customerLanguage(db, topUp.customer_id);
  const { title, body } = topUpText(language, topUp, source);
  await addFeedEntry(db, topUp.customer_id, { kind: done ? 'top_up_completed' : 'top_up_failed', title, body, contestable: done });
  for (const contact of await verifiedContacts(db, topUp.customer_id)) {
    if (contact.kind !== 'email') continue;
    await enqueueMessage(db, { channel: 'email', recipient: contact.value, kind: done ? 'top_up_completed' : 'top_up_failed', subject: `Koban${language === 'ja' ? '：' : ': '}${title}`, body });
  }
}
