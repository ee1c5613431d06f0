/**
 * Second factors: passkeys (list, add with WebAuthn registration, remove), the authenticator app
 * (TOTP: QR + secret, confirmed with a first code) and recovery codes (a new set, shown once). Every
 * change needs a step-up for `change_factors` with the factor's binding fields.
 */
import { useEffect, useState } from 'react';
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import QRCode from 'qrcode';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { CodeForm, stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { formatDate, Loading, Page, useLoad } from './page.tsx';
import { problemCode, problemText, webauthnText } from './problems.ts';
import type { Factors } from './settings.tsx';

interface Passkey { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean }

export function PasskeysPage() {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const list = useLoad<{ passkeys: Passkey[] }>('/v1/customer/passkeys');
  const [name, setName] = useState('');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function add() {
    setMessage(null);
    const grant = await stepUp({ action: 'change_factors', params: { factor: 'passkey' }, summary: t('passkeys.add') });
    if (grant === null) return;
    setBusy(true);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/v1/customer/passkeys/registration/options', {}, { headers: stepUpHeaders(grant) });
      const credential = await startRegistration({ optionsJSON: options.options });
      await api('POST', '/v1/customer/passkeys/registration', { webauthnChallengeId: options.challengeId, credential, name: name.trim() === '' ? t('passkeys.defaultName') : name.trim() });
      setName('');
      setMessage({ kind: 'success', text: t('passkeys.added') });
      list.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: webauthnText(t, failure) });
    } finally {
      setBusy(false);
    }
  }

  async function remove(passkey: Passkey) {
    setMessage(null);
    const grant = await stepUp({ action: 'change_factors', params: { factor: 'passkey', passkeyId: passkey.id }, summary: t('passkeys.removeSummary', { name: passkey.name }) });
    if (grant === null) return;
    try {
      await api('DELETE', `/v1/customer/passkeys/${passkey.id}`, undefined, { headers: stepUpHeaders(grant) });
      setMessage({ kind: 'success', text: t('passkeys.removed') });
      list.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  return (
    <Page title={t('settings.page.passkeys')} back="/settings">
      <p>{t('passkeys.intro')}</p>
      <Card title={t('passkeys.yours')}>
        {list.data === null ? <Loading error={list.error} /> : list.data.passkeys.length === 0 ? <p>{t('passkeys.none')}</p> : (
          <ul className="account-list">
            {list.data.passkeys.map((passkey) => (
              <li key={passkey.id}>
                <div>
                  <strong>{passkey.name}</strong>{passkey.backedUp ? <span className="tag">{t('passkeys.synced')}</span> : null}
                  <div className="meta">{t('passkeys.created', { date: formatDate(passkey.createdAt, language) })} · {t('passkeys.lastUsed', { date: formatDate(passkey.lastUsedAt, language) })}</div>
                </div>
                <Button variant="danger" onClick={() => void remove(passkey)} aria-label={t('passkeys.removeNamed', { name: passkey.name })}>{t('common.remove')}</Button>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {list.data !== null && list.data.passkeys.length > 0 ? <PayWithPasskey /> : null}
      <Card title={t('passkeys.add')}>
        <Field label={t('passkeys.name')} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} hint={t('passkeys.nameHint')} />
        <Button onClick={() => void add()} disabled={busy}>{t('passkeys.add')}</Button>
      </Card>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </Page>
  );
}

/** On while the customer has a passkey; turning it off takes the passkey itself (src/identity/payment-passkey.ts). */
function PayWithPasskey() {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const factors = useLoad<Factors>('/v1/customer/factors');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  async function change(enabled: boolean) {
    setMessage(null);
    const grant = enabled ? null : await stepUp({ action: 'change_factors', params: { factor: 'payment_passkey' }, summary: t('passkeys.payTurnOffSummary') });
    if (!enabled && grant === null) return;
    try {
      await api('PUT', '/v1/customer/payment-passkey', { enabled }, grant === null ? {} : { headers: stepUpHeaders(grant) });
      setMessage({ kind: 'success', text: t('passkeys.payChanged') });
      factors.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }
  if (factors.data === null) return <Loading error={factors.error} />;
  const on = factors.data.paysWithPasskey;
  return (
    <Card title={t('passkeys.payTitle')}>
      <p data-testid="pay-with-passkey">{t(on ? 'passkeys.payOn' : 'passkeys.payOff')}</p>
      <Button variant={on ? 'secondary' : 'primary'} onClick={() => void change(!on)}>{t(on ? 'passkeys.payTurnOff' : 'passkeys.payTurnOn')}</Button>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </Card>
  );
}

export function TotpPage() {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const factors = useLoad<Factors>('/v1/customer/factors');
  const [enrolment, setEnrolment] = useState<{ secret: string; uri: string } | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (enrolment === null) return;
    QRCode.toDataURL(enrolment.uri, { margin: 1, width: 200, errorCorrectionLevel: 'M' }).then(setQr, () => setQr(null));
  }, [enrolment]);

  async function begin() {
    setMessage(null);
    const grant = await stepUp({ action: 'change_factors', params: { factor: 'totp' }, summary: t('totp.begin') });
    if (grant === null) return;
    try {
      setEnrolment(await api<{ secret: string; uri: string }>('POST', '/v1/customer/totp', {}, { headers: stepUpHeaders(grant) }));
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  async function confirm(code: string) {
    setBusy(true);
    setMessage(null);
    try {
      await api('POST', '/v1/customer/totp/confirm', { code });
      setEnrolment(null);
      setMessage({ kind: 'success', text: t('totp.enabled') });
      factors.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemCode(failure) === 'verification_failed' ? t('totp.wrongCode') : problemText(t, failure) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t('settings.page.totp')} back="/settings">
      <p>{t('totp.intro')}</p>
      {factors.data === null ? <Loading error={factors.error} /> : factors.data.totp
        ? <Notice kind="success">{t('totp.isOn')}</Notice>
        : enrolment === null
          ? <Button onClick={() => void begin()}>{t('totp.begin')}</Button>
          : (
            <Card title={t('totp.scan')}>
              {qr === null ? null : <img className="totp-qr" src={qr} alt={t('totp.qrAlt')} width={200} height={200} />}
              <p>{t('totp.orType')}</p>
              <p className="secret-text" aria-label={t('totp.secret')}>{enrolment.secret}</p>
              <CodeForm label={t('totp.code')} busy={busy} onSubmit={confirm} />
            </Card>
          )}
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </Page>
  );
}

export function RecoveryCodesPage() {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const factors = useLoad<Factors>('/v1/customer/factors');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function generate() {
    setError(null);
    const grant = await stepUp({ action: 'change_factors', params: { factor: 'recovery_codes' }, summary: t('recoveryCodes.generate') });
    if (grant === null) return;
    try {
      setCodes((await api<{ codes: string[] }>('POST', '/v1/customer/recovery-codes', {}, { headers: stepUpHeaders(grant) })).codes);
      factors.reload();
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }

  return (
    <Page title={t('settings.page.recovery-codes')} back="/settings">
      <p>{t('recoveryCodes.intro')}</p>
      {factors.data === null ? null : <p>{t('settings.left', { count: factors.data.recoveryCodesLeft })}</p>}
      {codes === null ? null : (
        <Card title={t('recoveryCodes.shownOnce')}>
          <Notice kind="info">{t('recoveryCodes.keep')}</Notice>
          <ol className="recovery-codes" aria-label={t('recoveryCodes.list')}>
            {codes.map((code) => <li key={code}>{code}</li>)}
          </ol>
        </Card>
      )}
      <Button variant={codes === null ? 'primary' : 'secondary'} onClick={() => void generate()}>{t('recoveryCodes.generate')}</Button>
      {factors.data !== null && factors.data.recoveryCodesLeft > 0 && codes === null ? <p className="hint">{t('recoveryCodes.replaces')}</p> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
    </Page>
  );
}
