import type { Messages } from '../shared/messages.ts';
import { sharedMessages } from '../shared/shared-messages.ts';
import { accountMessages } from './account/messages.ts';
import { moneyMessages } from './money/messages.ts';

const shellMessages: Messages = {
  'app.title': { ja: 'Koban ウォレット', en: 'Koban Wallet' },
  'welcome.heading': { ja: 'キャッシュレスを、安心して。', en: 'Cashless, and safe.' },
  'welcome.body': { ja: 'チャージして、お店でコードを見せるだけ。新しい端末からのログインには必ず二段階認証が必要です。', en: 'Top up, then show your code at the till. Signing in from a new device always needs a second factor.' },
  'welcome.signIn': { ja: 'ログイン', en: 'Sign in' },
  'welcome.signUp': { ja: '新規登録', en: 'Create an account' },
  'status.checking': { ja: 'サービスの状態を確認しています…', en: 'Checking the service…' },
  'status.ready': { ja: 'サービスは正常に稼働しています', en: 'The service is running' },
  'session.ended': { ja: 'ログインの有効期限が切れたか、別の端末からログアウトされました。もう一度ログインしてください。', en: 'Your session ended (it expired, or you were signed out from another device). Please sign in again.' },
  'notFound': { ja: 'ページが見つかりません', en: 'Page not found' },
  'offline.heading': { ja: 'オフラインです', en: 'You are offline' },
  'offline.body': { ja: 'インターネットに接続されていません。接続を確かめてから「再読み込み」を押してください。残高とコードは接続中にだけ表示されます。', en: 'This device is not connected to the internet. Check your connection, then press Retry. Your balance and codes are shown only while connected.' },
  'offline.downHeading': { ja: 'Koban に接続できません', en: 'Koban cannot be reached' },
  'offline.downBody': { ja: 'サービスから応答がありません。しばらくしてから「再読み込み」を押してください。', en: 'The service is not answering. Please press Retry in a moment.' },
  'status.down': { ja: 'サービスに接続できません', en: 'The service cannot be reached' },
};

export const messages: Messages = { ...sharedMessages, ...shellMessages, ...accountMessages, ...moneyMessages };
