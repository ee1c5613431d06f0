/** The signed-in staff member's own passkeys: enrol this device's (after a password + TOTP sign-in), see when each was used, remove one. */
import { useState } from 'react';
import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Table, useLoad, When } from '../../console/common.tsx';

interface Passkey { credentialId: string; name: string; createdAt: string; lastUsedAt: string | null }

export function AccountScreen() {
  const { t } = useI18n();
  const passkeys = useLoad<{ passkeys: Passkey[] }>('/v1/merchant/passkeys');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState(false);
  const [busy, setBusy] = useState(false);
  const enrol = async () => {
    setBusy(true);
    setError(null);
    setAdded(false);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/v1/merchant/passkeys/registration-options');
      const response = await startRegistration({ optionsJSON: options.options });
      await api('POST', '/v1/merchant/passkeys', { challengeId: options.challengeId, response, name: name.trim() || t('account.defaultName') });
      setName('');
      setAdded(true);
      await passkeys.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t('account.passkeys')}>
      <p className="hint">{t('account.passkeysNote')}</p>
      {added ? <Notice kind="success">{t('account.added')}</Notice> : null}
      <ErrorNotice error={error} />
      {passkeys.data === null ? <Loading loaded={passkeys} /> : (
        <Table caption={t('account.passkeys')} head={[t('account.name'), t('account.created'), t('account.lastUsed'), '']} empty={passkeys.data.passkeys.length === 0}>
          {passkeys.data.passkeys.map((p) => (
            <tr key={p.credentialId}>
              <td>{p.name}</td><td><When at={p.createdAt} /></td><td><When at={p.lastUsedAt} /></td>
              <td><ActionButton label={t('account.remove')} title={`${t('account.remove')}: ${p.name}`} variant="danger" needsReason={false}
                run={() => api('POST', '/v1/merchant/passkeys/remove', { credentialId: p.credentialId })} onDone={() => void passkeys.reload()} /></td>
            </tr>
          ))}
        </Table>
      )}
      <div className="form-grid">
        <Field label={t('account.name')} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder={t('account.defaultName')} />
        <div><Button onClick={() => void enrol()} disabled={busy}>{t('account.enrol')}</Button></div>
      </div>
    </Card>
  );
}
