/** Strings the design system itself shows (web/shared/ui.tsx), merged into every app's messages. */
import type { Messages } from './messages.ts';

export const sharedMessages: Messages = {
  // The accessible name contains the visible text (WCAG 2.5.3), then says what the button does.
  'language.visible': { ja: 'EN', en: '日本語' },
  'language.switch': { ja: 'EN – Switch to English', en: '日本語 – 日本語に切り替え' },
  'connection.lost': { ja: '接続が切れています', en: 'Connection lost' },
  'connection.lastUpdated': { ja: '最終更新：{ago}', en: 'last updated {ago}' },
  'connection.never': { ja: 'まだ読み込めていません', en: 'nothing loaded yet' },
  'connection.retry': { ja: '再読み込み', en: 'Retry' },
  'connection.noAnswer': { ja: '応答がありません。通信環境を確かめて、もう一度お試しください。', en: 'No answer. Check your connection and try again.' },
};
