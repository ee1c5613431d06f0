import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { setRequestSigner } from '../shared/api.ts';
import { I18nProvider } from '../shared/i18n.tsx';
import '../shared/styles.css';
import './account/account.css';
import { StepUpProvider } from './common/step-up.tsx';
import { registerServiceWorker } from './account/service-worker.ts';
import { deviceProof } from './device-key.ts';
import { WalletApp } from './wallet-app.tsx';
import { messages } from './messages.ts';

// Every request is signed by this phone's key, so the session cannot be used from anywhere else.
setRequestSigner(deviceProof);

const root = document.getElementById('root');
if (root === null) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <I18nProvider messages={messages} defaultLanguage="ja">
      <StepUpProvider>
        <WalletApp />
      </StepUpProvider>
    </I18nProvider>
  </StrictMode>,
);
registerServiceWorker();
