/**
 * Every security event is told to the customer on every verified contact at once, put in the in-app
 * feed, and written to the audit log, all in the caller's transaction (AUTH-08, REC-06, LINK-01).
 */
import type { Queryable } from '../platform/db/database.ts';
import { recordSecurityEvent, type RequestOrigin } from '../platform/audit/security-log.ts';
import { addFeedEntry, enqueueMessage } from '../notifications/outbox.ts';
import { timeIn } from '../platform/language.ts';
import { verifiedContacts } from './contacts/contacts.ts';
import { customerLanguage } from './language.ts';

export type AlertType =
  | 'login.new_device' | 'login.password_correct_second_factor_pending' | 'password.changed' | 'pin.set' | 'pin.locked'
  | 'factor.passkey_added' | 'factor.passkey_removed' | 'factor.totp_enabled' | 'factor.recovery_codes_generated' | 'factor.recovery_code_used'
  | 'contact.changed' | 'contact.change_reported' | 'recovery.completed' | 'social.linked' | 'social.unlinked' | 'device.removed' | 'sessions.revoked_all'
  | 'credentials.reset_forced' | 'factor.locked' | 'payment_passkey.enabled' | 'payment_passkey.disabled';

const TEXT: Readonly<Record<AlertType, { title: string; body: string }>> = {
  'login.new_device': { title: 'New sign-in to Koban', body: 'Your Koban account was signed in to from a new device.' },
  'login.password_correct_second_factor_pending': { title: 'Someone entered your Koban password', body: 'Your password was entered correctly on a new device. Nobody can sign in without your second factor. If this was not you, change your password now.' },
  'password.changed': { title: 'Your Koban password was changed', body: 'The password of your Koban account was changed.' },
  'pin.set': { title: 'Your charge PIN was set', body: 'The charge PIN for top-ups on your Koban account was set or changed.' },
  'pin.locked': { title: 'Your charge PIN is locked', body: 'Your charge PIN was entered wrongly too many times and is locked. Reset it in the app with a fresh second factor.' },
  'factor.passkey_added': { title: 'A passkey was added', body: 'A new passkey can now sign in to your Koban account. Payments are confirmed with a passkey from now on.' },
  'payment_passkey.enabled': { title: 'You now pay with your passkey', body: 'Every payment from your Koban account is now confirmed with your passkey.' },
  'payment_passkey.disabled': { title: 'Payments no longer need your passkey', body: 'Payments from your Koban account are no longer confirmed with your passkey. If this was not you, contact Koban support at once.' },
  'factor.passkey_removed': { title: 'A passkey was removed', body: 'A passkey was removed from your Koban account.' },
  'factor.totp_enabled': { title: 'Authenticator app set up', body: 'An authenticator app was set up as a second factor for your Koban account.' },
  'factor.recovery_codes_generated': { title: 'New recovery codes', body: 'New recovery codes were generated for your Koban account; the old ones no longer work.' },
  'factor.recovery_code_used': { title: 'A recovery code was used', body: 'One of your Koban recovery codes was used to sign in.' },
  'contact.changed': { title: 'Your contact details changed', body: 'A phone number or e-mail address of your Koban account was changed.' },
  'contact.change_reported': { title: 'A contact change was reported', body: 'You reported a contact change you did not make. Koban restored your previous contact, signed out every session, forgot every remembered device and paused top-ups for a while. Recover your account now to choose a new password.' },
  'recovery.completed': { title: 'Your Koban account was recovered', body: 'Your password was reset through account recovery. Every session was signed out, and top-ups are paused for a while as a precaution. If this was not you, contact Koban support at once.' },
  'social.linked': { title: 'A social sign-in was linked', body: 'An external account can now sign in to your Koban account.' },
  'social.unlinked': { title: 'A social sign-in was removed', body: 'An external account can no longer sign in to your Koban account.' },
  'device.removed': { title: 'A device was removed', body: 'A remembered device was removed from your Koban account; it needs a second factor next time.' },
  'credentials.reset_forced': { title: 'Reset your Koban password and PIN', body: 'As a security precaution Koban has signed out every session of your account; your password and charge PIN no longer work. To sign in again, recover your account in the app: choose a new password, then set a new charge PIN.' },
  'factor.locked': { title: 'A second factor of your Koban account is locked', body: 'Too many wrong codes were entered for one of your second factors, so Koban locked it. If this was not you, someone knows your password: recover your account now to choose a new password and unlock it.' },
  'sessions.revoked_all': { title: 'Signed out everywhere', body: 'Every session of your Koban account was signed out.' },
};

/** Alerts the customer may answer with 「心当たりがない」: someone else signing in. Their own settings changes have their own remedies. */
const CONTESTABLE: ReadonlySet<AlertType> = new Set(['login.new_device', 'login.password_correct_second_factor_pending']);

const TEXT_JA: Readonly<Record<AlertType, { title: string; body: string }>> = {
  'login.new_device': { title: '新しい端末から Koban にログインがありました', body: 'お使いの Koban アカウントに新しい端末からログインがありました。' },
  'login.password_correct_second_factor_pending': { title: 'Koban のパスワードが入力されました', body: '新しい端末でパスワードが正しく入力されました。2段階認証がなければログインはできません。心当たりがない場合は、すぐにパスワードを変更してください。' },
  'password.changed': { title: 'Koban のパスワードが変更されました', body: 'Koban アカウントのパスワードが変更されました。' },
  'pin.set': { title: 'チャージ用 PIN が設定されました', body: 'Koban アカウントのチャージ用 PIN が設定または変更されました。' },
  'pin.locked': { title: 'チャージ用 PIN がロックされました', body: 'チャージ用 PIN の入力を何度も間違えたため、ロックしました。アプリで2段階認証をしてから再設定してください。' },
  'factor.passkey_added': { title: 'パスキーが追加されました', body: '新しいパスキーで Koban アカウントにログインできるようになりました。これからはお支払いもパスキーで確認します。' },
  'payment_passkey.enabled': { title: 'お支払いにパスキーを使います', body: 'Koban アカウントのお支払いは、これからすべてパスキーで確認します。' },
  'payment_passkey.disabled': { title: 'お支払いにパスキーが不要になりました', body: 'Koban アカウントのお支払いにパスキーの確認が不要になりました。心当たりがない場合は、すぐに Koban サポートへご連絡ください。' },
  'factor.passkey_removed': { title: 'パスキーが削除されました', body: 'Koban アカウントからパスキーが削除されました。' },
  'factor.totp_enabled': { title: '認証アプリを設定しました', body: 'Koban アカウントの2段階認証に認証アプリが設定されました。' },
  'factor.recovery_codes_generated': { title: '新しいリカバリーコード', body: 'Koban アカウントの新しいリカバリーコードを発行しました。以前のコードは使えません。' },
  'factor.recovery_code_used': { title: 'リカバリーコードが使われました', body: 'Koban のリカバリーコードの1つがログインに使われました。' },
  'contact.changed': { title: '連絡先が変更されました', body: 'Koban アカウントの電話番号またはメールアドレスが変更されました。' },
  'contact.change_reported': { title: '連絡先の変更が報告されました', body: '身に覚えのない連絡先の変更が報告されました。Koban は以前の連絡先に戻し、すべてのセッションをログアウトし、記憶済みの端末を解除し、しばらくチャージを停止しました。今すぐアカウントを復旧して新しいパスワードを設定してください。' },
  'recovery.completed': { title: 'Koban アカウントを復旧しました', body: 'アカウント復旧でパスワードが再設定されました。すべてのセッションをログアウトし、念のためしばらくチャージを停止しています。心当たりがない場合は、すぐに Koban サポートへご連絡ください。' },
  'social.linked': { title: 'ソーシャルログインが連携されました', body: '外部アカウントで Koban アカウントにログインできるようになりました。' },
  'social.unlinked': { title: 'ソーシャルログインの連携を解除しました', body: '外部アカウントで Koban アカウントにログインできなくなりました。' },
  'device.removed': { title: '端末が削除されました', body: '記憶済みの端末が Koban アカウントから削除されました。次回は2段階認証が必要です。' },
  'credentials.reset_forced': { title: 'Koban のパスワードと PIN を再設定してください', body: '安全のため、Koban はお使いのアカウントのすべてのセッションをログアウトしました。パスワードとチャージ用 PIN は使えなくなっています。アプリでアカウントを復旧し、新しいパスワードとチャージ用 PIN を設定してください。' },
  'factor.locked': { title: '2段階認証の方法がロックされました', body: '2段階認証のコードが何度も間違って入力されたため、Koban はその方法をロックしました。心当たりがない場合はパスワードが知られています。今すぐアカウントを復旧して新しいパスワードを設定してください。' },
  'sessions.revoked_all': { title: 'すべての端末からログアウトしました', body: 'Koban アカウントのすべてのセッションをログアウトしました。' },
};

export interface Alert {
  readonly customerId: string;
  readonly type: AlertType;
  readonly origin: RequestOrigin | null;
  readonly sessionId?: string | null;
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
  /** In-app feed and audit log only, no SMS or e-mail: for alerts an attacker could repeat at will. */
  readonly quiet?: boolean;
}

export async function announceSecurityEvent(db: Queryable, alert: Alert): Promise<void> {
  const language = await customerLanguage(db, alert.customerId);
  const text = (language === 'ja' ? TEXT_JA : TEXT)[alert.type];
  const ip = alert.origin?.ip ?? null;
  const where = ip === null ? '' : language === 'ja' ? `（接続元 ${ip}）` : ` (from ${ip})`;
  const body = `${text.body}${where}\n\n${language === 'ja' ? '日時' : 'Time'}: ${timeIn(language, new Date())}`;
  for (const contact of alert.quiet === true ? [] : await verifiedContacts(db, alert.customerId)) {
    await enqueueMessage(db, { channel: contact.kind === 'phone' ? 'sms' : 'email', recipient: contact.value, kind: 'security_alert', subject: `Koban${language === 'ja' ? '：' : ': '}${text.title}`, body });
  }
  await addFeedEntry(db, alert.customerId, { kind: 'security_alert', title: text.title, body, contestable: CONTESTABLE.has(alert.type) });
  await recordSecurityEvent(db, {
    type: alert.type, outcome: 'success', actor: 'customer', customerId: alert.customerId,
    sessionId: alert.sessionId ?? null, origin: alert.origin, details: { ...alert.details, ...(alert.quiet === true ? { quiet: true } : {}) },
  });
}
