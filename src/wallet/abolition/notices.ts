/**
 * Every customer with a wallet is told of the abolition (issue 19) once, in their language: a feed entry and an
 * e-mail to each verified address, with the claim deadline and where to claim (残高の払い戻し). In batches of
 * `NOTICE_BATCH_MAX` customers per transaction (`for update skip locked` is not needed: the notice row's primary
 * key makes a second writer fail, and the batch runs on one node under its lease).
 */
import { verifiedContacts } from '../../identity/contacts/contacts.ts';
import { customerLanguage } from '../../identity/language.ts';
import { addFeedEntry, enqueueMessage } from '../../notifications/outbox.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { timeIn, type Language } from '../../platform/language.ts';
import { activeProcedure } from './claims.ts';

export const NOTICE_BATCH_MAX = 500;

export function abolitionText(language: Language, claimDeadline: Date): { title: string; body: string } {
  const until = timeIn(language, claimDeadline);
  if (language === 'ja') {
    return { title: 'Koban 残高の払い戻しについて', body: `Koban の前払式支払手段は廃止されます（資金決済法第20条）。${until}までに、アプリの「残高の払い戻し」から、ご本人名義の銀行口座への払い戻しをお申し出ください。チャージと新規登録は停止しました。` };
  }
  return { title: 'Refund of your Koban balance', body: `Koban's prepaid balance is being abolished (Payment Services Act, Art. 20). Claim your balance to your own bank account in the app ("Refund my balance") by ${until}. Top-ups and sign-ups have stopped.` };
}

/** One batch of notices; the number of customers told (0 once everyone has been, or no procedure is active). */
export async function sendAbolitionNotices(db: Database, limit = NOTICE_BATCH_MAX): Promise<number> {
  const procedure = await activeProcedure(db.pool);
  if (procedure === null) return 0;
  return withTransaction(db, async (client) => {
    const due = await client.query<{ customer_id: string }>(
      `select w.customer_id from customer_wallets w join customers c on c.id = w.customer_id where not exists (select 1 from abolition_notices n where n.customer_id = w.customer_id) order by w.customer_id limit $1`, [limit]);
    for (const { customer_id: customerId } of due.rows) {
      const language = await customerLanguage(client, customerId);
      const { title, body } = abolitionText(language, procedure.claimDeadline);
      await addFeedEntry(client, customerId, { kind: 'abolition', title, body });
      for (const contact of await verifiedContacts(client, customerId)) {
        if (contact.kind === 'email') await enqueueMessage(client, { channel: 'email', recipient: contact.value, kind: 'abolition', subject: `Koban${language === 'ja' ? '：' : ': '}${title}`, body });
      }
      await client.query('insert into abolition_notices (customer_id, procedure_id, notified_at) values ($1, $2, now())', [customerId, procedure.id]);
    }
    return due.rows.length;
  });
}
