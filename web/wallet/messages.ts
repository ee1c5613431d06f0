import type { Messages } from '../shared/messages.ts';
import { accountMessages } from './account/messages.ts';
import { moneyMessages } from './money/messages.ts';

const shellMessages: Messages = {
  'app.title': { ja: 'Koban ウォレット', en: 'Koban Wallet' },
  'language.switch': { ja: 'Switch to English', en: '日本語に切り替え' },
  'welcome.heading': { ja: 'キャッシュレスを、安心して。', en: 'Cashless, and safe.' },
  'welcome.body': { ja: 'チャージして、お店でコードを見せるだけ。新しい端末からのログインには必ず二段階認証が必要です。', en: 'Top up, then show your code at the till. Signing in from a new device always needs a second factor.' },
  'welcome.signIn': { ja: 'ログイン', en: 'Sign in' },
  'welcome.signUp': { ja: '新規登録', en: 'Create an account' },
  'status.checking': { ja: 'サービスの状態を確認しています…', en: 'Checking the service…' },
  'status.ready': { ja: 'サービスは正常に稼働しています', en: 'The service is running' },
  'session.ended': { ja: 'ログインの有効期限が切れたか、別の端末からログアウトされました。もう一度ログインしてください。', en: 'Your session ended (it expired, or you were signed out from another device). Please sign in again.' },
  'notFound': { ja: 'ページが見つかりません', en: 'Page not found' },
  'status.down': { ja: 'サービスに接続できません', en: 'The service cannot be reached' },
};

export const messages: Messages = { ...shellMessages, ...accountMessages, ...moneyMessages };
