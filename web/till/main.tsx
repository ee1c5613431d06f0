import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nProvider, type Messages } from '../shared/i18n.tsx';
import '../shared/styles.css';
import { TillApp } from './till-app.tsx';

const messages: Messages = {
  'app.title': { ja: 'Koban レジ', en: 'Koban Till' },
  'language.switch': { ja: 'Switch to English', en: '日本語に切り替え' },
  'amount.label': { ja: '金額', en: 'Amount' },
  'amount.clear': { ja: 'クリア', en: 'Clear' },
  'amount.back': { ja: '1文字消す', en: 'Delete last digit' },
  'amount.charge': { ja: 'お支払いへ', en: 'Charge' },
};

const root = document.getElementById('root');
if (root === null) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <I18nProvider messages={messages} defaultLanguage="ja">
      <TillApp />
    </I18nProvider>
  </StrictMode>,
);
