import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nProvider, type Messages } from '../shared/i18n.tsx';
import '../shared/styles.css';
import { ConsoleApp } from './console-app.tsx';

const messages: Messages = {
  'app.title': { ja: 'Koban 運用コンソール', en: 'Koban Operator Console' },
  'language.switch': { ja: 'Switch to English', en: '日本語に切り替え' },
  'signIn.heading': { ja: 'オペレーターログイン', en: 'Operator sign-in' },
  'signIn.note': { ja: 'オペレーターはお客様とは別のアカウントです。パスキーまたは認証アプリが必須です。', en: 'Operators have their own accounts, separate from customers. A passkey or an authenticator app is mandatory.' },
  'signIn.email': { ja: 'メールアドレス', en: 'E-mail' },
  'signIn.password': { ja: 'パスワード', en: 'Password' },
  'signIn.totp': { ja: '認証コード', en: 'Authenticator code' },
  'signIn.submit': { ja: 'ログイン', en: 'Sign in' },
};

const root = document.getElementById('root');
if (root === null) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <I18nProvider messages={messages} defaultLanguage="en">
      <ConsoleApp />
    </I18nProvider>
  </StrictMode>,
);
