import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nProvider } from '../shared/i18n.tsx';
import '../shared/styles.css';
import '../console/console.css';
import './merchant.css';
import { MerchantApp } from './merchant-app.tsx';
import { messages } from './messages.ts';

const root = document.getElementById('root');
if (root === null) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <I18nProvider messages={messages} defaultLanguage="ja">
      <MerchantApp />
    </I18nProvider>
  </StrictMode>,
);
