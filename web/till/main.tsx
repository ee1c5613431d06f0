import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nProvider } from '../shared/i18n.tsx';
import { RouterProvider } from '../shared/router.tsx';
import '../shared/styles.css';
import './till.css';
import { messages } from './messages.ts';
import { TillApp } from './till-app.tsx';

// The app shell offline (web/public/till/sw.js): a reload with Koban down shows our own screen.
if ('serviceWorker' in navigator) {
  addEventListener('load', () => { navigator.serviceWorker.register('/till/sw.js', { scope: '/till/' }).catch(() => undefined); });
}

const root = document.getElementById('root');
if (root === null) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <I18nProvider messages={messages} defaultLanguage="ja">
      <RouterProvider prefix="/till/">
        <TillApp />
      </RouterProvider>
    </I18nProvider>
  </StrictMode>,
);
