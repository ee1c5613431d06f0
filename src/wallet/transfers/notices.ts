/**
 * Both parties hear of every transfer in their feed, written in the transaction that moves the money (so
 * each notice is written once, exactly when its money moved). The sender's "sent" entry is contestable:
 * "this wasn't me" freezes the account and opens a case, as for a payment. Requests and reminders also go
 * to the payer's verified e-mail through the notifications outbox.
 */
import { verifiedContacts } from '../../identity/contacts/contacts.ts';
import { customerLanguage } from '../../identity/language.ts';
import { addFeedEntry, enqueueMessage } from '../../notifications/outbox.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { yenIn, type Language } from '../../platform/language.ts';
import { receiptNumber } from '../../platform/receipt-number.ts';

type Text = Readonly<Record<Language, string>>;

export type TransferNotice =
  | 'sent' | 'received' | 'incoming' | 'accepted' | 'declined' | 'returned' | 'withdrawal_started' | 'withdrawal_completed' | 'withdrawal_failed'
  | 'money_requested' | 'money_request_reminder' | 'money_request_paid';

function texts(notice: TransferNotice, amount: Text, who: string): { title: Text; body: Text } {
  switch (notice) {
    case 'sent': return { title: { ja: `${who}さんに${amount.ja}を送りました`, en: `You sent ${amount.en} to ${who}` }, body: { ja: '心当たりがない場合は「身に覚えがない」を押してください。', en: 'If this was not you, tap "This wasn\'t me".' } };
    case 'received': return { title: { ja: `${who}さんから${amount.ja}を受け取りました`, en: `You received ${amount.en} from ${who}` }, body: { ja: '送金残高に入金しました。', en: 'It is in your funds-transfer balance.' } };
    case 'incoming': return { title: { ja: `${who}さんから${amount.ja}の送金が届いています`, en: `${who} sent you ${amount.en}` }, body: { ja: '受け取るか辞退してください。期限を過ぎると送金者に返金されます。', en: 'Accept or decline it; after the deadline it goes back to the sender.' } };
    case 'accepted': return { title: { ja: `${who}さんが${amount.ja}を受け取りました`, en: `${who} accepted your ${amount.en}` }, body: { ja: '送金が完了しました。', en: 'The transfer is complete.' } };
    case 'declined': return { title: { ja: `${who}さんが${amount.ja}の受け取りを辞退しました`, en: `${who} declined your ${amount.en}` }, body: { ja: '送金残高に返金しました。', en: 'It is back in your funds-transfer balance.' } };
    case 'returned': return { title: { ja: `${who}さんへの${amount.ja}の送金が返金されました`, en: `Your ${amount.en} to ${who} came back` }, body: { ja: '受け取り期限を過ぎたため、送金残高に返金しました。', en: 'It was not accepted in time and is back in your funds-transfer balance.' } };
    case 'withdrawal_started': return { title: { ja: `${amount.ja}の出金を受け付けました`, en: `Withdrawal of ${amount.en} started` }, body: { ja: `${who}への出金です。`, en: `To your ${who}.` } };
    case 'withdrawal_completed': return { title: { ja: `${amount.ja}を出金しました`, en: `${amount.en} withdrawn` }, body: { ja: `${who}に入金されました。`, en: `Paid into your ${who}.` } };
    case 'withdrawal_failed': return { title: { ja: `${amount.ja}の出金ができませんでした`, en: `Withdrawal of ${amount.en} failed` }, body: { ja: '出金額と手数料を送金残高に戻しました。', en: 'The amount and the fee are back in your funds-transfer balance.' } };
    case 'money_requested': return { title: { ja: `${who}さんから${amount.ja}の請求が届きました`, en: `${who} asks you for ${amount.en}` }, body: { ja: 'Koban で支払えます。', en: 'You can pay it in Koban.' } };
    case 'money_request_reminder': return { title: { ja: `${who}さんへの${amount.ja}のお支払いをお忘れなく`, en: `Reminder: ${who} asks you for ${amount.en}` }, body: { ja: 'Koban で支払えます。', en: 'You can pay it in Koban.' } };
    case 'money_request_paid': return { title: { ja: `${who}さんが${amount.ja}を支払いました`, en: `${who} paid your request of ${amount.en}` }, body: { ja: '', en: '' } };
  }
}

export async function notify(db: Queryable, customerId: string, notice: TransferNotice, amountMinor: bigint, who: string, refId: string, options: { email?: boolean } = {}): Promise<void> {
  const language = await customerLanguage(db, customerId);
  const amount = { ja: yenIn('ja', amountMinor), en: yenIn('en', amountMinor) };
  const text = texts(notice, amount, who);
  const body = `${text.body[language]}\n\n${language === 'ja' ? 'レシート番号' : 'Receipt no.'}: ${receiptNumber(refId)}`.trim();
  await addFeedEntry(db, customerId, { kind: `transfer_${notice}`, title: text.title[language], body, contestable: notice === 'sent' });
  if (options.email !== true) return;
  for (const contact of await verifiedContacts(db, customerId)) {
    if (contact.kind !== 'email') continue;
    await enqueueMessage(db, { channel: 'email', recipient: contact.value, kind: `transfer_${notice}`, subject: `Koban${language === 'ja' ? '：' : ': '}${text.title[language]}`, body });
  }
}
