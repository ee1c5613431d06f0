/**
 * The optional passkey step of a sign-up (issue 17): right after the two codes, before the PIN, the
 * wallet offers 「パスキーを登録」. Registering needs the `change_factors {factor: "passkey"}` step-up,
 * which the sign-up's setup window covers (no dialog, no code); 「あとで」 skips it. Either way the
 * customer goes on to set the charge PIN. A browser without WebAuthn never sees this page (sign-up.tsx).
 */
import { useState } from 'react';
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { useRouter } from '../../shared/router.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { Page } from './page.tsx';
import { webauthnText } from './problems.ts';

export const PIN_AFTER_SIGN_UP = '/settings/pin?welcome=1';

export function WelcomePasskeyPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const stepUp = useStepUp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState(false);

  async function register() {
    setError(null);
    const grant = await stepUp({ action: 'change_factors', params: { factor: 'passkey' }, summary: t('passkeys.add') });
    if (grant === null) return;
    setBusy(true);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/v1/customer/passkeys/registration/options', {}, { headers: stepUpHeaders(grant) });
      const credential = await startRegistration({ optionsJSON: options.options });
      await api('POST', '/v1/customer/passkeys/registration', { webauthnChallengeId: options.challengeId, credential, name: t('passkeys.defaultName') });
      setAdded(true);
    } catch (failure) {
      setError(webauthnText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t('welcomePasskey.title')} step={added ? 'added' : 'offer'}>
      <Notice kind="success">{t('welcomePasskey.accountReady')}</Notice>
      <Card>
        <p>{t('welcomePasskey.why')}</p>
        {added ? <Notice kind="success">{t('welcomePasskey.added')}</Notice> : null}
        {error !== null ? <Notice kind="error">{error}</Notice> : null}
        {added
          ? <Button onClick={() => navigate(PIN_AFTER_SIGN_UP, { replace: true })}>{t('welcomePasskey.next')}</Button>
          : (
            <div className="row">
              <Button onClick={() => void register()} disabled={busy}>{t('welcomePasskey.register')}</Button>
              <Button variant="ghost" onClick={() => navigate(PIN_AFTER_SIGN_UP, { replace: true })}>{t('welcomePasskey.skip')}</Button>
            </div>
          )}
      </Card>
    </Page>
  );
}
